import csv
import sys
from collections import defaultdict


def totals(path):
    out = defaultdict(float)
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            out[row["category"]] += float(row["amount"])
    return dict(out)


if __name__ == "__main__":
    for cat, total in sorted(totals(sys.argv[1]).items()):
        print(f"{cat:20s} {total:10.2f}")
