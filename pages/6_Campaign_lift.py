"""Campaign lift: measured lift with CI next to the true lift, and a real experiment (Hillstrom)."""
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from core.errors import UserError
from core.measures.liftcsv import lift_from_csv
from core.present import charts
from pages import ROOT, frame, pct, results_or_stop

scenario, play = frame()
st.title("Campaign lift")
st.write(f"**{play.title}** — each model's audience gets the campaign on its own cadence (CRM: scheduled batch "
         "sends; CDP and hybrid: triggered on activation) with a randomised holdout. The simulator knows the true "
         "effect, so you see how close the measurement gets.")
results = results_or_stop(scenario, play)
lift = results.lift


def money(x) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "–"
    return "–" if v != v else f"{v:,.0f}"


cols = st.columns(len(lift))
for col, row in zip(cols, lift.to_dict("records")):
    with col:
        st.subheader(charts.label(row["model"]))
        if row.get("abs_lift") is None or pd.isna(row.get("abs_lift")):
            st.info(row.get("message") or "The audience was empty: nothing to measure.")
            continue
        st.metric("Measured lift", f"{row['abs_lift'] * 100:+.2f} pp",
                  help=f"95% CI {row['abs_lift_ci_low'] * 100:+.2f} to {row['abs_lift_ci_high'] * 100:+.2f} pp")
        st.caption(f"95% CI {row['abs_lift_ci_low'] * 100:+.2f} to {row['abs_lift_ci_high'] * 100:+.2f} pp · "
                   f"true lift {row['true_abs_lift'] * 100:+.2f} pp")
        st.metric("p-value", f"{row['p_value']:.3f}", help="Two-sided test of no effect.")
        st.metric("Minimum detectable effect", f"{row['mde_abs'] * 100:.2f} pp" if pd.notna(row.get("mde_abs")) else "–",
                  help="Smallest lift this test would detect with 80% power.")
        st.metric("Sends / holdout", f"{int(row['n_treated']):,} / {int(row['n_holdout']):,}")
        st.metric("Incremental revenue (measured)", money(row["incremental_revenue"]),
                  help=f"True: {money(row['true_incremental_revenue'])}")
        roi = row.get("roi")
        st.metric("Cost / ROI", f"{money(row['cost'])} / " + ("–" if roi is None or pd.isna(roi) else f"{roi:,.1f}×"),
                  help="ROI = (measured incremental revenue − cost) / cost.")
        if row.get("warning"):
            st.warning(row["warning"][:1].upper() + row["warning"][1:])
        elif row.get("underpowered"):
            st.warning("Underpowered: a real effect of this size would often be missed.")

st.plotly_chart(charts.lift_chart(lift), width="stretch")
st.caption("Read: each dot is the measured lift with its 95% interval; the open diamond is the true lift. "
           "An interval crossing zero means the test cannot tell the campaign from no campaign.")
st.plotly_chart(charts.roi_bars(lift), width="stretch")
st.caption("Read: coloured bars are what the holdout test measured; grey bars the true incremental revenue.")
with st.expander("Lift table"):
    st.dataframe(lift.drop(columns=["notes"], errors="ignore"), hide_index=True, width="stretch")

# ------------------------------------------------------------------ real experiment
st.header("A real experiment: your CSV or Hillstrom")
st.write("Upload any experiment CSV (one row per person, an arm column and an outcome), or use the Hillstrom "
         "MineThatData e-mail test when it is available.")
default_path = (ROOT / ".." / "shared" / "data" / "hillstrom" / "hillstrom.csv").resolve()
upload = st.file_uploader("Experiment CSV", type=["csv"])
path = None
if upload is not None:
    tmp = Path(tempfile.gettempdir()) / f"audience-lab-upload-{abs(hash(upload.name)) % 10**8}.csv"
    tmp.write_bytes(upload.getvalue())
    path = tmp
    st.caption(f"Using the uploaded file {upload.name}.")
elif default_path.exists():
    path = default_path
    st.caption(f"Using {default_path}.")
else:
    st.info("No file yet: upload a CSV (Hillstrom was not found at ../shared/data/hillstrom/hillstrom.csv).")

if path is not None:
    try:
        head = pd.read_csv(path, nrows=2000)
    except Exception as exc:  # noqa: BLE001 — any unreadable file is a user error here
        st.error(f"Could not read the CSV: {exc}")
        st.stop()
    columns = list(head.columns)
    if not columns:
        st.error("The CSV has no columns.")
        st.stop()
    a1, a2, a3, a4 = st.columns(4)
    arm = a1.selectbox("Arm column", columns, index=columns.index("segment") if "segment" in columns else 0)
    arms = [str(v) for v in head[arm].dropna().unique().tolist()][:50]
    treat = a2.selectbox("Treatment", arms, index=0 if arms else None)
    ctrl_default = arms.index("No E-Mail") if "No E-Mail" in arms else (1 if len(arms) > 1 else 0)
    ctrl = a3.selectbox("Control", arms, index=ctrl_default if arms else None)
    outcomes = [c for c in columns if c != arm]
    out = a4.selectbox("Outcome", outcomes, index=outcomes.index("conversion") if "conversion" in outcomes else 0)
    if treat is None or ctrl is None:
        st.error("The arm column has no values.")
    elif treat == ctrl:
        st.error("Treatment and control must be different arms.")
    else:
        try:
            report = lift_from_csv(path, arm, treat, ctrl, out)
        except UserError as exc:
            st.error(str(exc))
        else:
            d = report.to_dict()
            r = st.columns(3) + st.columns(3)
            scale = 100 if d["binary"] else 1
            unit = " pp" if d["binary"] else ""
            r[0].metric("Treated", f"{d['n_treated']:,}", help=f"People in the arm '{treat}'.")
            r[1].metric("Control", f"{d['n_holdout']:,}", help=f"People in the arm '{ctrl}'.")
            r[2].metric("p-value", f"{d['p_value']:.4f}")
            r[3].metric("Absolute lift", f"{d['abs_lift'] * scale:+.3f}{unit}",
                        help=f"95% CI {d['abs_lift_ci_low'] * scale:+.3f} to {d['abs_lift_ci_high'] * scale:+.3f}{unit}")
            r[4].metric("Relative lift", pct(d["rel_lift"], 1))
            r[5].metric("Minimum detectable effect", f"{d['mde_abs'] * scale:.3f}{unit}" if d.get("mde_abs") is not None else "–",
                        help="The smallest lift this test would detect with 80% power.")
            st.caption(f"{d['test']}; 95% CI of the absolute lift {d['abs_lift_ci_low'] * scale:+.3f} to "
                       f"{d['abs_lift_ci_high'] * scale:+.3f}{unit}.")
            if d.get("warning"):
                st.warning(d["warning"])
            with st.expander("Full report"):
                st.json(d)
