"""``mnist-cnn recipes``: the named recipes of ``train --recipe`` and what each sets."""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("recipes", help="the named training recipes (train --recipe NAME)")
    p.add_argument("name", nargs="?", default=None, help="show only this recipe")
    p.add_argument("--json", action="store_true", help="each recipe's whole config as JSON")
    p.set_defaults(func=run, needs_keras=False)


def run(args: argparse.Namespace) -> int:
    from ..config import RECIPES, TrainConfig
    from ..errors import ConfigError

    if args.name is not None and args.name not in RECIPES:
        raise ConfigError(f"unknown recipe {args.name!r}; choose one of: {', '.join(RECIPES)}")
    names = [args.name] if args.name else list(RECIPES)
    configs = {name: TrainConfig.from_recipe(name) for name in names}
    if args.json:
        print(json.dumps({name: config.to_dict() for name, config in configs.items()}, indent=2))
        return 0
    tutorial = TrainConfig().to_dict()
    for name in names:
        settings = configs[name].to_dict()
        changed = {k: v for k, v in settings.items() if v != tutorial[k] and k != "recipe"}
        print(f"{name}: {RECIPES[name].description}")
        flags = " ".join(_flag(k, v) for k, v in changed.items())
        print(f"  mnist-cnn train --recipe {name}   (= {flags or 'the defaults'})")
    print("Other flags given with --recipe override its settings; every run saves the")
    print("resolved settings in its config.json.")
    return 0


def _flag(name: str, value: object) -> str:
    flag = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return flag if value else "--no-" + flag[2:]
    return f"{flag} {value}"
