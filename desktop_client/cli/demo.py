"""``xnat-upload demo OUTDIR [--seed N]``: write the synthetic demo studies (fake PHI) to a folder."""

from __future__ import annotations

import argparse
from collections import Counter

from desktop_client.cli.common import UserError
from desktop_client.core.formatting import human_bytes
from desktop_client.core.transfer_syntaxes import transfer_syntax_name


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="write synthetic demo studies with fake PHI in headers and pixels",
        description=("Write a deterministic synthetic data set (3 patients, 5 studies: CT, MR, CR, "
                     "US, RT Structure Set, RT Dose, SR, PDF in eight transfer syntaxes) with fake "
                     "names, IDs and dates in the headers and burned into the pixels, plus "
                     "demo-manifest.json listing every file and every burned-in text box."),
    )
    parser.add_argument("outdir", metavar="OUTDIR", help="folder to create (must be absent or empty)")
    parser.add_argument("--seed", type=int, default=0,
                        help="same seed, same bytes; different seeds give different names/UIDs/dates (default 0)")
    parser.add_argument("--size", action="append", default=[], metavar="NAME=N",
                        help=("scale the data set for benchmarks, repeatable: ct_slices (20), ct_matrix "
                              "(512), mr_slices (16), mr_matrix (256), cr_rows (1024), cr_columns (832), "
                              "us_frames (10), us_rows (480), us_columns (640)"))
    parser.add_argument("--no-text", action="store_true",
                        help="do not burn text into pixels (a text-free twin with identical anatomy)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from desktop_client.demo import DemoError, generate_demo

    scale: dict[str, object] = {"burn_text": False} if args.no_text else {}
    for item in args.size:
        name, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise UserError(f"--size expects NAME=N with a whole number, got {item!r}")
        scale[name.strip()] = int(value)
    try:
        manifest = generate_demo(args.outdir, seed=args.seed, **scale)
    except (DemoError, ValueError) as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"cannot write the demo into {args.outdir}: {exc.strerror or exc}") from None
    modalities = Counter(f.modality for f in manifest.files)
    syntaxes = sorted({transfer_syntax_name(f.transfer_syntax_uid) for f in manifest.files})
    burned = sum(1 for f in manifest.files if f.burned_in)
    print(f"Wrote {len(manifest.files)} files ({human_bytes(manifest.total_bytes)}) to {args.outdir}: "
          f"{len(manifest.patients)} patients, {len(manifest.studies)} studies, seed {manifest.seed}.")
    print("Modalities: " + ", ".join(f"{m} {n}" for m, n in sorted(modalities.items())))
    print("Transfer syntaxes: " + "; ".join(syntaxes))
    print(f"{burned} files have fake PHI burned into the pixels (boxes in demo-manifest.json).")
    return 0
