"""Rendering the KPIs: the HTML dashboard, Markdown and JSON summaries, the terminal view."""
