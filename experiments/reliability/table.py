"""Print the case | before | after table of this folder's before.json and after.json (cases.py --out)."""
import json
from pathlib import Path

here = Path(__file__).parent
before, after = (json.loads((here / f"{name}.json").read_text()) for name in ("before", "after"))
print("| case | before | after |\n| --- | --- | --- |")
for case in after:
    cells = [before.get(case, "(not run)"), after[case]]
    print(f"| {case} | " + " | ".join(c.replace("|", "/") for c in cells) + " |")
