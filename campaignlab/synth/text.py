"""Render a campaign's chosen values as the text a real campaign brief would hold.

Phrasing varies (templates, order and connective words come from a seeded ``random.Random``, which is fast
per call and gives the same draws on every platform) so that
text embeddings see realistic variation, while every chosen value stays named in the text.
"""

from __future__ import annotations

import random

AUDIENCE_TEMPLATES = (
    "{gender}, {age}, interested in {interests}",
    "{gender} aged {age} who are into {interests}",
    "{gender}, {age}, with a passion for {interests}",
    "{gender} in the {age} age group, interested in {interests}",
)
BRAND_OPENERS = (
    "The brand is defined by {a}.",
    "At its heart, the brand stands for {a}.",
    "This is a brand built on {a}.",
    "Customers know the brand for {a}.",
)
BRAND_FOLLOWERS = (
    "It also brings {a}.",
    "Alongside that, it offers {a}.",
    "It pairs this with {a}.",
    "Another pillar is {a}.",
)
BRAND_CLOSERS = (
    "Its values guide every product it makes.",
    "Every touchpoint reflects this identity.",
    "These values shape how it talks to customers.",
    "",
)
CREATIVE_TEMPLATES = (
    "{a_format} featuring {elements}.",
    "{A_format} built around {elements}.",
    "Campaign {format} with {elements}.",
    "{A_format} that uses {elements}.",
)
FORMATS = ("video", "image", "carousel", "story", "banner")
ARTICLES = {"video": "a", "image": "an", "carousel": "a", "story": "a", "banner": "a"}


def join_words(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def audience_text(gender: str, age: str, interests: list[str], rng: random.Random) -> str:
    t = AUDIENCE_TEMPLATES[rng.randrange(len(AUDIENCE_TEMPLATES))]
    return t.format(gender=gender, age=age, interests=join_words(interests))


def brand_text(phrases: list[str], rng: random.Random) -> str:
    order = list(range(len(phrases)))
    rng.shuffle(order)
    sentences = [BRAND_OPENERS[rng.randrange(len(BRAND_OPENERS))].format(a=phrases[order[0]])]
    sentences += [
        BRAND_FOLLOWERS[rng.randrange(len(BRAND_FOLLOWERS))].format(a=phrases[i]) for i in order[1:]
    ]
    closer = BRAND_CLOSERS[rng.randrange(len(BRAND_CLOSERS))]
    return " ".join(s for s in [*sentences, closer] if s)


def creative_text(phrases: list[str], rng: random.Random) -> str:
    fmt = FORMATS[rng.randrange(len(FORMATS))]
    t = CREATIVE_TEMPLATES[rng.randrange(len(CREATIVE_TEMPLATES))]
    order = list(phrases)
    rng.shuffle(order)
    a_format = f"{ARTICLES[fmt]} {fmt}"
    return t.format(format=fmt, a_format=a_format, A_format=a_format.capitalize(), elements=join_words(order))
