"""The VTSS stage report's tables."""


def test_paper_table_says_why_a_table_has_no_row():
    from koala.vtss.report import paper_table

    assert "No row in this run" in paper_table([], "configuration")
    t = paper_table([{"configuration": "+ label branch", "variant": "label", "plcc_proxy": 0.51234}], "configuration")
    assert list(t.index) == ["+ label branch"] and "variant" not in t.columns and t.iloc[0, 0] == 0.5123


def test_training_lines_report_each_variant_and_the_keep_reject_shares_only_when_measured():
    from koala.vtss.report import training_lines

    summary = {"results": {"label": {"plcc": 0.61, "srcc": 0.6, "krcc": 0.45, "rmse": 0.7, "n": 40},
                           "full": {"plcc": 0.5, "srcc": 0.5, "krcc": 0.4, "rmse": 0.8, "n": 40}},
               "keep_reject": {"label": {"calibrated": {"clean_kept": 0.9, "damaged_rejected": 0.55},
                                         "calibrated_label_below": {"damaged_rejected": 0.671}}},
               "real_clips": {"srcc": 0.3}, "model_path": "m.pt"}
    lines = training_lines(summary, metrics_json="vtss.json")
    assert lines[0].strip().startswith("label: proxy PLCC 0.610") and "(n=40)" in lines[0]
    assert "clean kept 90.0%, damaged rejected 55.0% (proxy label under 2.5: 67.1%)" in lines[1]
    assert lines[2].strip().startswith("full: proxy PLCC 0.500")  # no shares measured for it: no second line
    assert lines[-1] == "five real clips: Spearman 0.30 (n=5); model m.pt; summary vtss.json"
