"""compare reuses the lift table's campaigns for the rows that are the same campaigns (the latent
need, the off-target level in force): the same figures as simulating them again, fewer simulations."""
from __future__ import annotations

import pytest

from core.advice.scenario import Scenario, build_engine, play_results
from core.advice.verdict import need_sensitivity
from core.engine.plays import get_play
from core.measures import campaign
from core.measures.calibration import off_target_sensitivity


@pytest.fixture(scope="module")
def results():
    scenario = Scenario.make("b2c-retail", seed=4, people=2500)
    return scenario, play_results(build_engine(scenario), get_play("cart-abandonment"), scenario)


def _counting(monkeypatch) -> list:
    calls = []
    real = campaign.true_value

    def counted(run, model, cfg=None):
        calls.append(model)
        return real(run, model, cfg)

    monkeypatch.setattr(campaign, "true_value", counted)
    monkeypatch.setattr("core.advice.verdict.true_value", counted)
    return calls


def test_reused_rows_equal_simulated_rows_with_fewer_campaigns(results, monkeypatch):
    scenario, res = results
    cfg = scenario.campaign()
    calls = _counting(monkeypatch)
    fresh_need = need_sensitivity(res.run, cfg)
    fresh_off = off_target_sensitivity(res.run, cfg)
    simulated = len(calls)
    latent = res.lift.set_index("model")["true_net_value"].to_dict()
    assert need_sensitivity(res.run, cfg, latent=latent) == fresh_need
    assert off_target_sensitivity(res.run, cfg, known=res.lift) == fresh_off
    reused = len(calls) - simulated
    assert reused == simulated - 2 - len((*res.run.models, "blast"))  # latent crm + cdp, the level in force
    assert any(row["true_net_value"]["crm"] != 0 for row in fresh_off)


def test_true_value_is_the_simulations_truth_for_every_model_need_and_size(results):
    """The panels read :func:`campaign.true_value`, which skips the holdout measurement: its figures
    must be the full simulation's, on every model, need and off-target size."""
    from dataclasses import asdict, replace

    from core.engine.playrun import with_need
    from core.engine.plays import NEEDS

    scenario, res = results
    checked = 0
    for need in NEEDS:
        run = with_need(res.run, need)
        for scale in (0.0, 1.0, 2.0):
            cfg = replace(scenario.campaign(), off_target_scale=scale)
            for model in (*run.models, "blast"):
                full = campaign.simulate(run, model, cfg)
                truth = campaign.true_value(run, model, cfg)
                assert asdict(truth) == {k: getattr(full, k) for k in asdict(truth)}
                checked += full.sends > 0 and full.true_incremental_revenue != 0
    assert checked > 20


def test_a_kept_send_context_never_answers_for_other_settings(results):
    """Campaigns keep each model's sends between panels; another sending setting, seed or activation
    must give what a fresh computation gives, never the kept sends."""
    from dataclasses import replace

    from core.engine.playrun import with_activation

    scenario, res = results
    base = scenario.campaign()
    variants = [replace(base, crm_send_mode="batch", cdp_send_mode="batch"), replace(base, holdout_share=0.3),
                replace(base, seed=base.seed + 1), replace(base, frequency_cap_days=0.0)]
    runs = [res.run, with_activation(res.run, replace(res.run.activation, cdp_build_days=5))]
    for run in runs:
        for cfg in (base, *variants):
            kept = {m: campaign.simulate(run, m, cfg).to_dict() for m in ("crm", "cdp", "blast")}
            campaign._SENDS.clear()
            fresh = {m: campaign.simulate(run, m, cfg).to_dict() for m in ("crm", "cdp", "blast")}
            assert kept == fresh
    assert campaign.simulate(runs[0], "cdp", variants[0]).sends != campaign.simulate(runs[0], "cdp", base).sends
