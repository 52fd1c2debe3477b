"""The VTSS stage report's tables."""


def test_paper_table_says_why_a_table_has_no_row():
    from koala.vtss.report import paper_table

    assert "No row in this run" in paper_table([], "configuration")
    t = paper_table([{"configuration": "+ label branch", "variant": "label", "plcc_proxy": 0.51234}], "configuration")
    assert list(t.index) == ["+ label branch"] and "variant" not in t.columns and t.iloc[0, 0] == 0.5123
