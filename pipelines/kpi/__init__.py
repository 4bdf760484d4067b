"""The KPI layer: one catalogue of KPIs and measures (``catalogue``), one way to compute
them for any filter and period (``query``), and the ``kpi`` tables written from them
(``build``). It reads the raw tables and sits below both the assets and the reports."""
