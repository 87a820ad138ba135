"""The values each modality can take: the nodes of the campaign graph.

Audience nodes are profile attributes (a gender, an age group, interest categories); Brand nodes are
positioning/perception attributes; Creative nodes are tone and messaging elements; Geo nodes are real
5-digit US ZIP codes taken from the offline ``zipcodes`` package; Platform nodes are delivery channels.
Each value carries the phrases the text renderer uses for it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GENDERS: tuple[str, ...] = ("Women", "Men", "All genders")
AGE_GROUPS: tuple[str, ...] = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
INTERESTS: tuple[str, ...] = (
    "running",
    "travel",
    "cooking",
    "gaming",
    "fashion",
    "home improvement",
    "personal finance",
    "fitness",
    "parenting",
    "pets",
    "music festivals",
    "outdoor adventure",
    "technology",
    "beauty",
    "sustainability",
    "sports betting",
    "gardening",
    "cars",
    "movies",
    "wellness",
)

# (attribute, phrase used inside a brand paragraph)
BRAND_ATTRIBUTES: tuple[tuple[str, str], ...] = (
    ("premium", "a premium, high-end positioning"),
    ("budget", "an affordable, value-for-money promise"),
    ("eco-friendly", "a commitment to eco-friendly, sustainable sourcing"),
    ("heritage", "a heritage story going back generations"),
    ("innovative", "an innovative, technology-first identity"),
    ("playful", "a playful, light-hearted personality"),
    ("trustworthy", "a reputation for being dependable and trustworthy"),
    ("luxury", "an exclusive luxury image"),
    ("family-oriented", "a warm, family-oriented character"),
    ("bold", "a bold, disruptive attitude"),
    ("minimalist", "a clean, minimalist aesthetic"),
    ("community-driven", "a community-driven culture built with its customers"),
    ("health-conscious", "a health-conscious, wellbeing-first outlook"),
    ("local", "a proudly local, neighbourhood feel"),
    ("global", "a global, cosmopolitan reach"),
    ("performance", "a focus on technical performance"),
    ("artisanal", "artisanal craftsmanship and small-batch quality"),
    ("youthful", "a youthful, trend-setting energy"),
    ("inclusive", "an inclusive brand that welcomes everyone"),
    ("convenient", "convenience and speed at its core"),
    ("ethical", "transparent, ethical business practices"),
    ("adventurous", "an adventurous, go-anywhere spirit"),
    ("scientific", "a science-backed, evidence-led approach"),
    ("nostalgic", "a nostalgic, retro charm"),
    ("rebellious", "a rebellious, rule-breaking streak"),
    ("sophisticated", "a sophisticated, refined taste"),
    ("practical", "a practical, no-nonsense approach"),
    ("creative", "a creative, artistic flair"),
    ("caring", "a caring, customer-first attitude"),
    ("exclusive", "members-only exclusivity"),
    ("authentic", "an authentic, honest voice"),
    ("energetic", "an energetic, high-tempo vibe"),
)

# (element, phrase used inside a creative caption)
CREATIVE_ELEMENTS: tuple[tuple[str, str], ...] = (
    ("humorous", "a humorous tone"),
    ("urgent", "a limited-time urgency message"),
    ("testimonial", "a customer testimonial"),
    ("aspirational", "aspirational lifestyle imagery"),
    ("educational", "an educational how-to explanation"),
    ("emotional", "an emotional storytelling arc"),
    ("product close-up", "a detailed product close-up"),
    ("user-generated", "user-generated footage"),
    ("celebrity", "a celebrity endorsement"),
    ("discount", "a prominent discount offer"),
    ("minimal text", "minimal on-screen text"),
    ("behind the scenes", "a behind-the-scenes look"),
    ("comparison", "a side-by-side comparison with competitors"),
    ("seasonal", "a seasonal holiday theme"),
    ("social proof", "social proof from thousands of reviews"),
    ("animated", "bright animated graphics"),
    ("calm", "a calm, soothing voice-over"),
    ("call to action", "a direct call to action"),
    ("nature scenes", "sweeping nature scenes"),
    ("data-driven", "striking statistics and numbers"),
    ("nostalgic", "a nostalgic throwback look"),
    ("interactive", "an interactive poll"),
    ("before and after", "a before-and-after reveal"),
    ("influencer", "an influencer demonstration"),
    ("music-led", "an upbeat music-led edit"),
    ("unboxing", "an unboxing moment"),
    ("split screen", "a split-screen layout"),
    ("founder story", "the founder telling the story"),
    ("tutorial", "a step-by-step tutorial"),
    ("slow motion", "dramatic slow-motion shots"),
    ("countdown", "a countdown timer"),
    ("question hook", "an opening question hook"),
)

PLATFORMS: tuple[str, ...] = (
    "Instagram Stories",
    "Instagram Feed",
    "Facebook Reels",
    "Facebook Feed",
    "TikTok",
    "YouTube Shorts",
    "YouTube In-Stream",
    "Google Search",
    "Snapchat",
    "Pinterest",
    "LinkedIn",
    "Connected TV",
)


@dataclass(frozen=True)
class ZipInfo:
    """A real US ZIP code with the facts the geo stand-in embedding is derived from."""

    zip_code: str
    state: str
    city: str
    lat: float
    lon: float


def all_standard_zips() -> list[ZipInfo]:
    """Every active, standard ZIP code with coordinates from the offline ``zipcodes`` package."""
    import zipcodes

    out = []
    for z in zipcodes.list_all():
        if not z.get("active") or z.get("zip_code_type") != "STANDARD":
            continue
        try:
            lat, lon = float(z["lat"]), float(z["long"])
        except (TypeError, ValueError):
            continue
        out.append(ZipInfo(z["zip_code"], z["state"], z["city"], lat, lon))
    out.sort(key=lambda z: z.zip_code)
    return out


def pick_zips(n: int, seed: int) -> list[ZipInfo]:
    """Choose ``n`` real ZIP codes deterministically, spread over states (round-robin by state)."""
    zips = all_standard_zips()
    rng = np.random.default_rng(seed)
    by_state: dict[str, list[ZipInfo]] = {}
    for z in zips:
        by_state.setdefault(z.state, []).append(z)
    states = sorted(by_state)
    rng.shuffle(states)
    pools = {s: [by_state[s][i] for i in rng.permutation(len(by_state[s]))] for s in states}
    chosen: list[ZipInfo] = []
    depth = 0
    while len(chosen) < n:
        progressed = False
        for s in states:
            if depth < len(pools[s]) and len(chosen) < n:
                chosen.append(pools[s][depth])
                progressed = True
        if not progressed:
            break
        depth += 1
    chosen.sort(key=lambda z: z.zip_code)
    return chosen
