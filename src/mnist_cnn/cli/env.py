"""``mnist-cnn env``: versions and CPU facts, for bug reports."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("env", help="versions and CPU facts, for bug reports")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run, needs_keras=False)


def run(args: argparse.Namespace) -> int:
    from .. import envinfo

    report = envinfo.report()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    versions = report["versions"]
    cpu = report["cpu"]
    print(f"platform      {report['platform']}")
    for key, value in versions.items():
        print(f"{key:<13} {value}")
    print(f"cpu           {cpu['model']} ({cpu['machine']})")
    print(f"cpus          {cpu['usable_cpus']} usable of {cpu['logical_cpus']}")
    print(f"cpu features  {' '.join(cpu['features']) or '-'}")
    print(f"memory        {report['memory_gib']} GiB")
    return 0
