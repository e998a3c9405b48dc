"""Jupyter renderings: results, histories, records and predictions as HTML tables."""

from html.parser import HTMLParser

from initlab import MLP, compare
from initlab.theory import predict


class Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        self._in = tag in ("td", "th")

    def handle_endtag(self, tag):
        self._in = False

    def handle_data(self, data):
        if self._in:
            self.cells.append(data)


def cells(text: str) -> list[str]:
    parser = Cells()
    parser.feed(text)
    return parser.cells


def test_comparison_history_and_records_render_as_tables():
    c = compare(["he", "zeros"], iterations=200, record_every=100)
    table = cells(c._repr_html_())
    assert table[:6] == ["init", "status", "final cost", "train acc", "test acc", "why"]
    assert "he" in table
    assert "zeros" in table
    assert f"{c.runs[0].result.final_cost:.6g}" in table
    history = cells(c.runs[0].result._repr_html_())
    assert history[:4] == ["iteration", "cost", "0", f"{c.runs[0].result.history.costs[0]:.6g}"]
    assert cells(c.runs[0].result.history._repr_html_())[2] == "0"
    records = cells(c.runs[1].result.records._repr_html_())
    assert records[0] == "iteration"
    assert "relu" in records


def test_prediction_renders_and_text_is_escaped():
    table = cells(predict(MLP([4, 8, 8, 1]), "he")._repr_html_())
    assert table[:3] == ["layer", "activation", "σ_w²"]
    from initlab._html import table as html_table

    assert "&lt;script&gt;" in html_table(["a"], [["<script>"]])
