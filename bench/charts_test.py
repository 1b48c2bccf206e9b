#!/usr/bin/env python3
"""bench/charts.py on synthetic samples: every SVG parses and has one line per scheduler.

    python3 bench/charts_test.py
"""

import os
import random
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
CHARTS = os.path.join(HERE, "charts.py")
SVG = "{http://www.w3.org/2000/svg}"


def write_csv(path, delays):
    with open(path, "w") as f:
        f.write("delay_ms\n")
        f.writelines(f"{d:.3f}\n" for d in delays)


def run_charts(results, out):
    return subprocess.run([sys.executable, CHARTS, results, out], capture_output=True, text=True)


def series(path):
    root = ET.parse(path).getroot()
    return [p.get("data-scheduler") for p in root.iter(SVG + "polyline") if p.get("class") == "series"]


class ChartsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.results = os.path.join(self.tmp.name, "results")
        self.out = os.path.join(self.tmp.name, "charts")
        rng = random.Random(7)
        # Names with underscores, one not known to charts.py, a partial burst (pgagent lost
        # some), negative and zero delays (drawn at the floor), three runs.
        spreads = {"workflow_scheduler": 500, "pg_cron": 18000, "apscheduler": 2000, "my_new_one": 50}
        for r in (1, 2, 3):
            run = os.path.join(self.results, "samples", f"run-{r}")
            os.makedirs(run)
            for name, spread in spreads.items():
                write_csv(os.path.join(run, f"burst_{name}_100.csv"),
                          [rng.uniform(-0.5, spread) for _ in range(100)])
                write_csv(os.path.join(run, f"steady_{name}_1000.csv"),
                          [rng.expovariate(10 / spread) for _ in range(500)] + [0.0])
            write_csv(os.path.join(run, "burst_pgagent_100.csv"), [rng.uniform(1000, 60000) for _ in range(40)])
        self.expected = sorted(list(spreads) + ["pgagent"])

    def tearDown(self):
        self.tmp.cleanup()

    def test_one_line_per_scheduler(self):
        done = run_charts(self.results, self.out)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(sorted(os.listdir(self.out)), ["burst-100-drain.svg", "steady-1000-lateness.svg"])
        self.assertEqual(sorted(series(os.path.join(self.out, "burst-100-drain.svg"))), self.expected)
        self.assertEqual(sorted(series(os.path.join(self.out, "steady-1000-lateness.svg"))),
                         sorted(set(self.expected) - {"pgagent"}))
        drain = open(os.path.join(self.out, "burst-100-drain.svg")).read()
        self.assertIn("pgagent: 40% received", drain)
        self.assertIn("median of 3 runs", drain)

    def test_no_samples_fails(self):
        os.makedirs(os.path.join(self.tmp.name, "empty", "samples"))
        done = run_charts(os.path.join(self.tmp.name, "empty"), self.out)
        self.assertEqual(done.returncode, 1)
        self.assertIn("no samples", done.stderr)

    def test_missing_samples_dir_fails(self):
        done = run_charts(os.path.join(self.tmp.name, "nowhere"), self.out)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("no ", done.stderr)

    def test_bad_header_fails(self):
        run = os.path.join(self.results, "samples", "run-1")
        with open(os.path.join(run, "burst_pg_cron_100.csv"), "w") as f:
            f.write("ms\n1\n")
        done = run_charts(self.results, self.out)
        self.assertNotEqual(done.returncode, 0)
        self.assertIn("header must be delay_ms", done.stderr)

    def test_wrong_arguments(self):
        done = subprocess.run([sys.executable, CHARTS, self.results], capture_output=True, text=True)
        self.assertEqual(done.returncode, 2)


if __name__ == "__main__":
    unittest.main()
