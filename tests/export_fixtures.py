"""Small real-shaped exports, generated (never copied data), for the import tests and docs/import.md.

Each writer makes the shape a real export has, with the quirks that stopped a user:

- :func:`us_orders_csv` — a shop's orders export re-saved by a spreadsheet: ``M/D/YYYY H:MM`` times
  (the Olist ``olist_orders_dataset`` columns), statuses such as ``canceled`` and ``shipped``;
- :func:`line_items_csv` — a retailer's line-item log (the UCI Online Retail columns): one row per
  invoice line, ``CustomerID`` as ``12923.0``, cancellations as ``C…`` invoices with negative
  quantities, ISO times in an ``InvoiceDate`` column no name list knows, a few unreadable prices;
- :func:`bom_csv` — a UTF-8 file with a byte-order mark (what Excel's "CSV UTF-8" writes);
- :func:`european_csv` — a semicolon-separated export with decimal commas and ``DD.MM.YYYY HH:MM`` times;
- :func:`ga4_csv` — a GA4 BigQuery export flattened to one row per event (``event_params_*`` columns,
  ``event_timestamp`` in microseconds).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2017-10-01 00:00")


def _times(rng: np.random.Generator, n: int, start: pd.Timestamp, days: int) -> pd.Series:
    minutes = np.sort(rng.integers(0, days * 24 * 60, n))
    return pd.Series(start + pd.to_timedelta(minutes, unit="min"))


def us_orders_csv(path: Path, n: int = 400, seed: int = 3) -> Path:
    """``order_id, customer_id, order_status, order_purchase_timestamp (M/D/YYYY H:MM), price``."""
    rng = np.random.default_rng(seed)
    ts = _times(rng, n, T0, 150)
    status = rng.choice(["delivered", "shipped", "canceled", "invoiced"], n, p=[0.8, 0.1, 0.05, 0.05])
    frame = pd.DataFrame({
        "order_id": [f"{h:032x}" for h in rng.integers(0, 2**62, n)],
        "customer_id": [f"cust{k:04d}" for k in rng.integers(0, n // 3, n)],
        "order_status": status,
        "order_purchase_timestamp": [f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}" for t in ts],
        "price": np.round(rng.gamma(2.0, 40.0, n), 2),
    })
    frame.to_csv(path, index=False)
    return path


def line_items_csv(path: Path, invoices: int = 300, seed: int = 5) -> Path:
    """``InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country``."""
    rng = np.random.default_rng(seed)
    when = _times(rng, invoices, pd.Timestamp("2011-06-01"), 120)
    rows = []
    for k in range(invoices):
        cancel = k % 25 == 7
        number = f"{'C' if cancel else ''}{536365 + k}"
        customer = f"{12346 + int(rng.integers(0, 90))}.0"
        for line in range(int(rng.integers(1, 6))):
            qty = int(rng.integers(1, 13)) * (-1 if cancel else 1)
            rows.append({"InvoiceNo": number, "StockCode": f"{84000 + int(rng.integers(0, 999))}",
                         "Description": "WHITE HANGING HEART T-LIGHT HOLDER", "Quantity": qty,
                         "InvoiceDate": when[k].strftime("%Y-%m-%d %H:%M:%S"),
                         "UnitPrice": f"{float(rng.choice([0.85, 1.65, 2.55, 3.39, 4.95, 7.65])):.2f}",
                         "CustomerID": customer, "Country": "United Kingdom"})
    frame = pd.DataFrame(rows)
    frame.loc[[3, 40, 77], "UnitPrice"] = ["", "n/a", "1,25 GBP"][:3]
    frame.to_csv(path, index=False)
    return path


def bom_csv(path: Path) -> Path:
    text = ("timestamp,event,user_id,email\n"
            "2026-09-01T10:00:00Z,page_view,u1,ann@example.com\n"
            "2026-09-01T10:02:00Z,add_to_cart,u1,ann@example.com\n"
            "2026-09-01T10:05:00Z,purchase,u1,ann@example.com\n"
            "2026-09-02T11:00:00Z,page_view,u2,\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return path


def european_csv(path: Path) -> Path:
    """``Datum;Ereignis;Kundennummer;Betrag`` with ``31.12.2025 14:00`` times and ``1.234,50`` amounts."""
    text = ("Datum;Ereignis;Kundennummer;Betrag\n"
            "01.12.2025 09:15;page_view;K-1001;\n"
            "01.12.2025 09:20;purchase;K-1001;1.234,50\n"
            "13.12.2025 18:02;purchase;K-1002;12,5\n"
            "31.12.2025 23:59;purchase;K-1003;99\n"
            "15.07.2025 12:00;purchase;K-1004;7,25\n")
    path.write_text(text, encoding="utf-8")
    return path


def ga4_csv(path: Path) -> Path:
    """One row per event as ``SELECT * EXCEPT(event_params), (SELECT value.int_value …) AS event_params_ga_session_id``
    style flattening writes it (https://developers.google.com/analytics/bigquery/event-schema)."""
    base = int(pd.Timestamp("2026-03-01T08:00:00Z").value // 1000)
    rows = [
        ("20260301", base, "session_start", "111.222", "", 1700000001, "https://shop.example/", ""),
        ("20260301", base + 1_000_000, "page_view", "111.222", "", 1700000001, "https://shop.example/", ""),
        ("20260301", base + 60_000_000, "view_item", "111.222", "", 1700000001, "https://shop.example/p/shoe?ref=ad", ""),
        ("20260301", base + 120_000_000, "add_to_cart", "111.222", "", 1700000001, "https://shop.example/p/shoe", ""),
        ("20260301", base + 180_000_000, "begin_checkout", "111.222", "u-9", 1700000001, "https://shop.example/checkout", ""),
        ("20260301", base + 240_000_000, "purchase", "111.222", "u-9", 1700000001, "https://shop.example/thanks", "59.9"),
        ("20260302", base + 86_400_000_000, "page_view", "333.444", "", 1700000001, "https://shop.example/pricing", ""),
    ]
    frame = pd.DataFrame(rows, columns=["event_date", "event_timestamp", "event_name", "user_pseudo_id", "user_id",
                                        "event_params_ga_session_id", "event_params_page_location",
                                        "ecommerce_purchase_revenue"])
    frame["device_category"] = "desktop"
    frame.to_csv(path, index=False)
    return path
