#!/usr/bin/env python3
"""tests/models/check_models.py: lowp's outputs on the exported real models against
PyTorch's and ONNX Runtime's.

For every model in DIR/models.json (written by scripts/export_models.py, with ORT's
outputs added by scripts/ort_reference.py), runs `lowp run MODEL --input NAME=FILE ...
--output-dir TMP` and compares each output with the PyTorch reference and the ORT one:
max |lowp - ref| <= TOL * max(1, max |ref|). TOL is 1e-4: the references and lowp sum in
different orders in fp32 (K up to 4608 in ResNet-18), and ORT itself differs from
PyTorch by up to 4e-6 on these models (models.json records it).

Each model also runs with 2 threads, whose outputs must equal the 1-thread ones bit for
bit (lowp's results do not depend on the thread count).

Usage: .venv/bin/python tests/models/check_models.py LOWP_BINARY [--dir build/models]
       [--only NAME,...]
Exits 1 when any model fails (the failures are listed), 2 on bad usage or missing files.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

TOL = 1e-4


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("lowp")
    ap.add_argument("--dir", default="build/models")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    manifest_path = os.path.join(args.dir, "models.json")
    if not os.path.exists(manifest_path):
        sys.exit(f"check_models: {manifest_path} is missing (run scripts/export_models.py)")
    with open(manifest_path) as f:
        manifest = json.load(f)
    only = set(filter(None, args.only.split(",")))
    failures = []
    checked = 0
    for entry in manifest["models"]:
        if only and entry["name"] not in only:
            continue
        model = os.path.join(args.dir, entry["file"])
        with tempfile.TemporaryDirectory() as out, tempfile.TemporaryDirectory() as out2:
            failed = False
            for threads, folder in ((1, out), (2, out2)):
                cmd = [args.lowp, "run", model, "--output-dir", folder, "--threads", str(threads)]
                for name, npy in entry["inputs"].items():
                    cmd += ["--input", f"{name}={os.path.join(args.dir, npy)}"]
                proc = subprocess.run(cmd, capture_output=True, text=True)
                if proc.returncode != 0:
                    failures.append(f"{entry['file']}: lowp run --threads {threads} failed: {proc.stderr.strip()}")
                    print(f"FAIL {entry['file']}: {proc.stderr.strip()}")
                    failed = True
                    break
            if failed:
                continue
            for name in entry["outputs"]:
                one = np.load(os.path.join(out, name + ".npy"))
                two = np.load(os.path.join(out2, name + ".npy"))
                same = one.shape == two.shape and one.tobytes() == two.tobytes()
                print(f"{'ok' if same else 'FAIL':4} {entry['file']:28} {name:20} 1 vs 2 threads: {'identical' if same else 'DIFFER'}")
                if not same:
                    failures.append(f"{entry['file']} {name}: 2-thread output differs from 1-thread")
            for name, ref_file in entry["outputs"].items():
                got = np.load(os.path.join(out, name + ".npy"))
                refs = {"torch": np.load(os.path.join(args.dir, ref_file))}
                ort_file = entry.get("ort_outputs", {}).get(name)
                if ort_file:
                    refs["ort"] = np.load(os.path.join(args.dir, ort_file))
                for peer, ref in refs.items():
                    if got.shape != ref.shape:
                        failures.append(f"{entry['file']} {name}: shape {got.shape} vs {peer} {ref.shape}")
                        continue
                    diff = float(np.abs(got.astype(np.float64) - ref).max()) if ref.size else 0.0
                    limit = TOL * max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)
                    status = "ok" if diff <= limit else "FAIL"
                    print(f"{status:4} {entry['file']:28} {name:20} vs {peer:5}: max abs diff {diff:.3g} (limit {limit:.3g})")
                    if diff > limit:
                        failures.append(f"{entry['file']} {name} vs {peer}: {diff:.3g} > {limit:.3g}")
        checked += 1
    print(f"{checked} models checked, {len(failures)} failures")
    for f in failures:
        print("  " + f)
    sys.exit(1 if failures or checked == 0 else 0)


if __name__ == "__main__":
    main()
