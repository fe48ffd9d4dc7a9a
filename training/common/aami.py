"""The MIT-BIH inter-patient split (de Chazal et al., IEEE TBME 51(7):1196-1206, 2004).

Mirrors src/inference/analysis/aami.ts; training refuses data from DS2 so it cannot leak into model
selection.
"""
DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
       "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210",
       "212", "213", "214", "219", "221", "222", "228", "231", "232", "233", "234")


def assert_no_ds2(record_names) -> None:
    leaked = sorted(set(record_names) & set(DS2))
    if leaked:
        raise SystemExit(f"refusing to train or select on DS2 records: {', '.join(leaked)}")
