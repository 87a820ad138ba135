"""Write real-looking campaign exports: an agency's table with its own column names and dirty rows.

This script knows nothing of campaignlab's synthetic generator (no graph, no presets): outcomes come from
a hidden rule of its own — audience age vs platform, brand category vs platform, creative format vs
platform, matching interests, region vs category — plus noise, cut into tiers. It writes what a team
adopting campaignlab would have:

* ``campaigns.csv``: 3,000 past campaigns (2023-2024), UTF-8 with a byte-order mark (Excel's "CSV UTF-8"),
  quoted fields holding commas, quotes and line breaks, ZIP lists with mixed delimiters, the agency's
  outcome words ("Above benchmark", ...; older rows say "positive" ...), and ~2.5% broken rows:
  blank or unknown outcomes, empty captions, malformed ZIPs, repeated ids, impossible dates, and lines
  with a wrong number of fields.
* ``new_campaigns.csv``: 200 planned campaigns (2025-01) without an outcome, to score.
* ``mapping.yaml``: the agency's columns and outcome words -> campaignlab's raw-campaign contract.

``--snapshot YYYY-MM`` writes a newer export instead (the history plus campaigns up to that month), as a
retraining run would receive; ``--drift new-platform`` makes a new platform take half of the new rows,
``--drift label-shift`` turns most new outcomes positive (what the retraining gate must stop).

Usage::

    python examples/make_campaigns.py                       # the three files above, into examples/
    python examples/make_campaigns.py --snapshot 2025-06 --out /tmp/snap.csv [--drift new-platform]
    python examples/make_campaigns.py --rows 500 --out /tmp/small.csv --seed 3
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gzip
import io
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ZIP_FILE = HERE.parent / "campaignlab" / "features" / "data" / "zip_coords.csv.gz"
COLUMNS = [
    "Campaign ID",
    "Client",
    "Launch Date",
    "Brand Story",
    "Target Audience",
    "Creative Caption",
    "Channel",
    "ZIP Codes",
    "Outcome",
]
PLATFORMS = ["Instagram", "TikTok", "YouTube", "Facebook", "LinkedIn", "Pinterest", "Snapchat", "X"]
AGES = ["18-24", "25-34", "35-44", "45-54", "55+"]
GENDERS = ["women", "men", "all adults"]
INTERESTS = [
    "fitness",
    "running",
    "skincare",
    "fashion",
    "personal finance",
    "investing",
    "video games",
    "esports",
    "cooking",
    "healthy eating",
    "travel",
    "outdoor adventure",
]
REGIONS = {
    "Northeast": ["NY", "NJ", "MA", "PA", "CT"],
    "Southeast": ["FL", "GA", "NC", "SC", "TN"],
    "Midwest": ["IL", "OH", "MI", "MN", "WI"],
    "Texas": ["TX"],
    "California": ["CA"],
    "Pacific Northwest": ["WA", "OR"],
    "Mountain": ["CO", "UT", "AZ", "NV"],
}
CATEGORIES = {
    "sportswear": (["Stride", "Apex Athletics", "Vantage Run", "Pulse Gear"], ["fitness", "running"]),
    "beauty": (["Lumière Skin", "Velvet & Co", "Glow Theory", "Maison Rose"], ["skincare", "fashion"]),
    "finance": (["Ledgerly", "North Bank", "CoinNest", "Harbor Invest"], ["personal finance", "investing"]),
    "gaming": (
        ["Pixel Forge", "Nightfall Studios", "Respawn Arena", "Quest Labs"],
        ["video games", "esports"],
    ),
    "food": (["Green Bowl", "Crème Café", "Harvest Table", "Spice Route"], ["cooking", "healthy eating"]),
    "travel": (
        ["Wander Air", "Summit Trails", "Blue Harbor Hotels", "Roam"],
        ["travel", "outdoor adventure"],
    ),
}
VALUES = {
    "sportswear": ["performance", "endurance", "community races", "recycled materials"],
    "beauty": ["clean ingredients", "inclusive shades", "dermatologist-tested formulas", "self-care"],
    "finance": ["transparent fees", "financial literacy", "security", "long-term growth"],
    "gaming": ["immersive worlds", "competitive play", "creator partnerships", "cross-platform fun"],
    "food": ["seasonal produce", "family recipes", "plant-forward menus", "fast delivery"],
    "travel": ["hidden gems", "sustainable trips", "flexible booking", "local guides"],
}
FORMATS = [
    "short vertical video",
    "carousel",
    "static image",
    "UGC testimonial",
    "influencer collab",
    "animated explainer",
    "long-form video",
]
HOOKS = [
    "a limited-time discount",
    "a product demo",
    "a behind-the-scenes look",
    "a customer story",
    "humour",
    "how-to tips",
    "a seasonal launch",
]
OWNERS = {
    "Acme Retail Group": ["sportswear", "food"],
    "Northwind Holdings": ["finance", "travel"],
    "Globex Consumer": ["beauty", "food"],
    "Initech Interactive": ["gaming", "sportswear"],
    "Umbrella Leisure": ["travel", "beauty", "gaming"],
}
WORDS = {0: "Below benchmark", 1: "At benchmark", 2: "Above benchmark"}
OLD_WORDS = {0: ["negative", "Negative", "NEGATIVE"], 1: ["average", "Average"], 2: ["positive", "POSITIVE"]}
MAPPING = """\
# The agency export's columns -> campaignlab's raw-campaign contract (docs/own-data.md).
campaign_id: Campaign ID
owner: Client
date: Launch Date
brand: Brand Story
audience: Target Audience
creative: Creative Caption
platform: Channel
geo: ZIP Codes
label: Outcome
# The agency's outcome words (the contract's own negative/average/positive and 0/1/2 are read too).
label_values:
  Below benchmark: negative
  At benchmark: average
  Above benchmark: positive
"""


def load_zips() -> dict[str, list[str]]:
    """State -> ZIP codes (the shipped ZIP extract; plain data, no campaignlab import)."""
    by_state: dict[str, list[str]] = {}
    with gzip.open(ZIP_FILE, "rt") as fh:
        next(fh)
        for line in fh:
            z, st, _, _ = line.split(",")
            by_state.setdefault(st, []).append(z)
    return by_state


class World:
    """The hidden rule: fixed affinities drawn once from their own seed (independent of the data seed)."""

    def __init__(self) -> None:
        r = np.random.default_rng(20250101)
        cats = list(CATEGORIES)
        self.age_platform = r.normal(0, 0.8, (len(AGES), len(PLATFORMS)))
        self.cat_platform = r.normal(0, 0.8, (len(cats), len(PLATFORMS)))
        self.format_platform = r.normal(0, 0.7, (len(FORMATS), len(PLATFORMS)))
        self.region_cat = r.normal(0, 0.6, (len(REGIONS), len(cats)))
        self.hook = r.normal(0, 0.3, len(HOOKS))
        # Main effects: some channels, formats and age groups simply perform better on average.
        self.platform = r.normal(0, 0.6, len(PLATFORMS))
        self.format = r.normal(0, 0.6, len(FORMATS))
        self.age = r.normal(0, 0.4, len(AGES))
        # A few effects every marketer would recognise, on top of the random ones.
        p = PLATFORMS.index
        self.age_platform[AGES.index("18-24"), [p("TikTok"), p("Snapchat")]] += 1.2
        self.age_platform[AGES.index("55+"), [p("TikTok"), p("Snapchat")]] -= 1.2
        self.age_platform[AGES.index("55+"), p("Facebook")] += 1.0
        self.cat_platform[cats.index("finance"), p("LinkedIn")] += 1.5
        self.cat_platform[cats.index("gaming"), p("LinkedIn")] -= 1.5
        self.cat_platform[cats.index("beauty"), [p("Instagram"), p("Pinterest")]] += 1.0
        self.format_platform[FORMATS.index("short vertical video"), [p("TikTok"), p("Snapchat")]] += 1.2
        self.format_platform[FORMATS.index("long-form video"), p("YouTube")] += 1.2
        self.format_platform[FORMATS.index("long-form video"), p("TikTok")] -= 1.0

    def score(self, c: dict, noise: float, rng: np.random.Generator) -> float:
        cats = list(CATEGORIES)
        pi = PLATFORMS.index(c["platform"])
        s = self.age_platform[AGES.index(c["age"]), pi]
        s += self.cat_platform[cats.index(c["category"]), pi]
        s += self.format_platform[FORMATS.index(c["format"]), pi]
        s += self.region_cat[list(REGIONS).index(c["region"]), cats.index(c["category"])]
        s += self.hook[HOOKS.index(c["hook"])]
        s += self.platform[pi] + self.format[FORMATS.index(c["format"])] + self.age[AGES.index(c["age"])]
        s += 0.8 * len(set(c["interests"]) & set(CATEGORIES[c["category"]][1]))
        return float(s + rng.normal(0, noise))


def brand_story(brand: str, category: str, rng: np.random.Generator) -> str:
    v = rng.choice(VALUES[category], size=2, replace=False)
    openers = [
        f"{brand} is a {category} brand built on {v[0]} and {v[1]}.",
        f"Since day one, {brand} has stood for {v[0]}, with a promise of {v[1]}.",
        f"{brand} — “{v[0]}, always” — is known for {v[1]} in {category}.",
    ]
    closers = [
        "Our voice is warm, direct and a little playful.",
        "We speak plainly, with confidence, and never talk down to people.",
        'Think premium, but approachable: "quality you can feel".',
        "We'd rather show than tell,\nand let customers speak for us.",
    ]
    return f"{openers[rng.integers(3)]} {closers[rng.integers(4)]}"


def audience_text(gender: str, age: str, interests: list[str]) -> str:
    return f"{gender.capitalize()} aged {age} interested in {', '.join(interests)}"


def creative_caption(fmt: str, hook: str, brand: str, rng: np.random.Generator) -> str:
    lead = ["A", "One", "Our"][rng.integers(3)]
    return f"{lead} {fmt} from {brand} built around {hook}; clear call to action in the first seconds."


def geo_text(zips: list[str], rng: np.random.Generator) -> str:
    sep = ["; ", ";", "|", " | ", ", ", " "][rng.integers(6)]
    if rng.random() < 0.05:
        zips = [z + f"-{rng.integers(1000, 9999)}" for z in zips]  # ZIP+4 from a CRM
    return sep.join(zips)


def draw(
    n: int,
    start: dt.date,
    end: dt.date,
    rng: np.random.Generator,
    world: World,
    zips: dict,
    noise: float = 0.6,
    platforms: list[str] | None = None,
    first_id: int = 1,
) -> list[dict]:
    """Draw ``n`` campaigns with outcomes (label 0/1/2 by fixed score cut-offs)."""
    days = (end - start).days
    out = []
    plats = platforms or PLATFORMS
    for i in range(n):
        owner = list(OWNERS)[rng.integers(len(OWNERS))]
        category = OWNERS[owner][rng.integers(len(OWNERS[owner]))]
        brand = CATEGORIES[category][0][rng.integers(4)]
        age = AGES[rng.integers(len(AGES))]
        gender = GENDERS[rng.integers(len(GENDERS))]
        own = CATEGORIES[category][1]
        pool = INTERESTS if rng.random() < 0.5 else own + list(rng.choice(INTERESTS, 2, replace=False))
        interests = sorted(set(rng.choice(pool, size=int(rng.integers(1, 4)), replace=False).tolist()))
        region = list(REGIONS)[rng.integers(len(REGIONS))]
        states = REGIONS[region]
        k = int(rng.integers(1, 7))
        picked = [zips[states[rng.integers(len(states))]] for _ in range(k)]
        zl = [zs[rng.integers(len(zs))] for zs in picked]
        c = {
            "id": f"CMP-{first_id + i:05d}",
            "owner": owner,
            "date": start + dt.timedelta(days=int(rng.integers(days + 1))),
            "category": category,
            "brand": brand,
            "age": age,
            "gender": gender,
            "interests": interests,
            "format": FORMATS[rng.integers(len(FORMATS))],
            "hook": HOOKS[rng.integers(len(HOOKS))],
            "platform": plats[rng.integers(len(plats))]
            if plats is not PLATFORMS
            else PLATFORMS[rng.integers(8)],
            "region": region,
            "zips": list(dict.fromkeys(zl)),
        }
        s = world.score(c, noise, rng) if c["platform"] in PLATFORMS else float(rng.normal(0, 1.5))
        c["label"] = 0 if s < 0.0 else (2 if s > 1.7 else 1)
        out.append(c)
    return out


def to_row(c: dict, rng: np.random.Generator, labelled: bool = True) -> list[str]:
    label = ""
    if labelled:
        label = (
            WORDS[c["label"]]
            if c["date"].year >= 2024 or rng.random() < 0.6
            else str(rng.choice(OLD_WORDS[c["label"]]))
        )
    row = [
        c["id"],
        c["owner"],
        c["date"].isoformat(),
        brand_story(c["brand"], c["category"], rng),
        audience_text(c["gender"], c["age"], c["interests"]),
        creative_caption(c["format"], c["hook"], c["brand"], rng),
        c["platform"],
        geo_text(c["zips"], rng),
    ]
    return [*row, label] if labelled else row


def break_rows(rows: list[list[str]], rng: np.random.Generator) -> tuple[list[list[str]], list[str]]:
    """Damage ~2.5% of the rows the way real exports are damaged; return rows and raw broken lines."""
    n = len(rows)
    picks = rng.permutation(n)
    k = max(1, n // 250)  # ~0.4% per kind
    it = iter(picks)
    for _ in range(k):
        rows[next(it)][8] = ""  # blank outcome
    for _ in range(k):
        rows[next(it)][8] = str(rng.choice(["TBD", "n/a", "pending", "3"]))
    for _ in range(k):
        rows[next(it)][5] = "  "  # empty caption
    for _ in range(k):
        rows[next(it)][7] = str(rng.choice(["ABCDE", "1234; 10001", "9021O", "unknown"]))
    for _ in range(k):
        rows[next(it)][2] = str(rng.choice(["2024-02-31", "next week", "2023-13-01"]))
    for _ in range(k):  # a repeated id (a row exported twice, or two campaigns given one id)
        j = next(it)
        rows[j][0] = rows[int(rng.integers(n))][0]
    broken_lines = []
    for _ in range(max(1, k // 3)):  # unquoted commas: the line has too many fields
        r = rows[next(it)]
        broken_lines.append(",".join([*r[:3], r[3].replace("\n", " "), "extra, unquoted, text", *r[4:]]))
    return rows, broken_lines


def write_csv(path: Path, header: list[str], rows: list[list[str]], extra_lines: list[str] = ()) -> None:  # type: ignore[assignment]
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")  # Excel writes CRLF
    w.writerow(header)
    w.writerows(rows)
    text = buf.getvalue() + "".join(line + "\r\n" for line in extra_lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))


def history(seed: int, rows: int, world: World, zips: dict) -> tuple[list[dict], np.random.Generator]:
    rng = np.random.default_rng(seed)
    return draw(rows, dt.date(2023, 1, 1), dt.date(2024, 12, 31), rng, world, zips), rng


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="CSV to write (default: the examples/ files)")
    ap.add_argument("--rows", type=int, default=3000, help="past campaigns (default 3000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--snapshot", help="YYYY-MM: a newer export with campaigns up to that month")
    ap.add_argument("--new-rows", type=int, default=1500, help="campaigns after 2024 in a snapshot")
    ap.add_argument("--drift", choices=["none", "new-platform", "label-shift"], default="none")
    ap.add_argument("--clean", action="store_true", help="no broken rows")
    args = ap.parse_args(argv)
    world, zips = World(), load_zips()
    camps, rng = history(args.seed, args.rows, world, zips)
    if args.snapshot:
        y, m = map(int, args.snapshot.split("-"))
        end = dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)
        plats = [*PLATFORMS, "Threads"] if args.drift == "new-platform" else None
        newer = draw(
            args.new_rows,
            dt.date(2025, 1, 1),
            end,
            np.random.default_rng(args.seed + 1000),
            world,
            zips,
            first_id=args.rows + 1,
        )
        if plats:  # the new platform takes half of the new campaigns
            for c in newer[::2]:
                c["platform"] = "Threads"
        if args.drift == "label-shift":
            for c in newer:
                c["label"] = 2 if rng.random() < 0.8 else c["label"]
        camps = camps + newer
    rows = [to_row(c, rng) for c in camps]
    extra: list[str] = []
    if not args.clean:
        rows, extra = break_rows(rows, rng)
    if args.out or args.snapshot:
        out = args.out or HERE / f"snapshot_{args.snapshot}.csv"
        write_csv(out, COLUMNS, rows, extra)
        print(f"wrote {len(rows) + len(extra)} rows to {out}")
        return
    write_csv(HERE / "campaigns.csv", COLUMNS, rows, extra)
    planned = draw(
        200,
        dt.date(2025, 1, 1),
        dt.date(2025, 1, 31),
        np.random.default_rng(args.seed + 99),
        world,
        zips,
        first_id=90001,
    )
    prng = np.random.default_rng(args.seed + 100)
    write_csv(HERE / "new_campaigns.csv", COLUMNS[:-1], [to_row(c, prng, labelled=False) for c in planned])
    (HERE / "mapping.yaml").write_text(MAPPING)
    print(
        f"wrote {len(rows) + len(extra)} rows to examples/campaigns.csv, 200 to examples/new_campaigns.csv, "
        "examples/mapping.yaml"
    )


if __name__ == "__main__":
    main()
