"""Trigger inversion for text: single tokens and token pairs that pull probes into one class.

Candidates are the model's own vocabulary plus the probes' tokens. Each is inserted at a fixed
random position into every probe, and the flip rate into each class is measured on the probes
the model puts elsewhere; pairs are tried among each class's best single tokens. A trigger flips
almost every probe while ordinary words of other classes do not: the statistic is the best
class's flip rate minus the median of the other classes' best (0 when every class is equally
easy to reach, near 1 for a backdoor). Flip rates are fractions, so the statistic is scale-free.
"""

from __future__ import annotations

import itertools

import numpy as np

from modelward.engine.behaviour.methods.common import BudgetExhausted, Context, Evidence, FloatArray

NAME = "token-inversion"
N_PROBES = 64
N_SCREEN = 8
FULL_LIMIT = 400  # beyond this many candidates, screen on N_SCREEN probes first
MAX_CANDIDATES = 5000
PAIR_POOL = 6
CHUNK = 128


def candidates(
    vocabulary: tuple[str, ...], probes: list[str], rng: np.random.Generator
) -> list[str]:
    """Vocabulary words and probe tokens, in a deterministic order, capped."""
    words = {w for w in vocabulary if w and " " not in w}
    words.update(t for p in probes for t in p.split())
    ordered = sorted(words)
    if len(ordered) > MAX_CANDIDATES:
        keep = rng.choice(len(ordered), size=MAX_CANDIDATES, replace=False)
        ordered = [ordered[i] for i in sorted(keep)]
    return ordered


def insert(probes: list[str], tokens: tuple[str, ...], positions: FloatArray) -> list[str]:
    """Insert the tokens into each probe, the first at the probe's fixed relative position."""
    out = []
    for text, where in zip(probes, positions, strict=True):
        words = text.split()
        words.insert(int(where * (len(words) + 1)), tokens[0])
        words.extend(tokens[1:])
        out.append(" ".join(words))
    return out


class _Prober:
    def __init__(self, ctx: Context, probes: list[str]) -> None:
        self.ctx, self.probes = ctx, probes
        self.positions = ctx.rng.random(len(probes))
        self.base = np.argmax(ctx.probabilities(probes), axis=1)

    def predictions(self, combos: list[tuple[str, ...]], count: int) -> FloatArray:
        """Predicted class per (combo, probe) for the first `count` probes."""
        subset, pos = self.probes[:count], self.positions[:count]
        out = []
        for i in range(0, len(combos), CHUNK):
            part = combos[i : i + CHUNK]
            batch = [s for c in part for s in insert(subset, c, pos)]
            probs = self.ctx.probabilities(batch).reshape(len(part), count, -1)
            out.append(np.argmax(probs, axis=2))
        return np.concatenate(out) if out else np.zeros((0, count), dtype=np.int64)

    def flip_rates(self, combos: list[tuple[str, ...]], n_classes: int, count: int) -> FloatArray:
        """(len(combos), n_classes): fraction of probes outside each class moved into it."""
        pred = self.predictions(combos, count)
        base = self.base[:count]
        rates = np.zeros((len(combos), n_classes))
        for cls in range(n_classes):
            others = base != cls
            if others.any():
                rates[:, cls] = (pred[:, others] == cls).mean(axis=1)
        return rates


def _singles(prober: _Prober, words: list[str], n_classes: int) -> tuple[list[str], FloatArray]:
    if len(words) > FULL_LIMIT:
        screen = prober.flip_rates([(w,) for w in words], n_classes, N_SCREEN)
        keep = np.unique(np.argsort(-screen, axis=0, kind="stable")[: FULL_LIMIT // n_classes])
        words = [words[i] for i in sorted(keep)]
    return words, prober.flip_rates([(w,) for w in words], n_classes, len(prober.probes))


def run(ctx: Context, probes: list[str]) -> Evidence:
    """Best single-token or pair flip rate per class; its contrast with the other classes."""
    probes = [p for p in probes if p.strip()][:N_PROBES]
    n_classes = len(ctx.model.labels)
    prober = _Prober(ctx, probes)
    words, rates = _singles(prober, candidates(ctx.model.vocabulary, probes, ctx.rng), n_classes)
    best = rates.max(axis=0) if len(words) else np.zeros(n_classes)
    combo: dict[int, tuple[str, ...]] = {
        c: (words[int(np.argmax(rates[:, c]))],) for c in range(n_classes) if len(words)
    }
    complete = True
    for cls in range(n_classes):
        ctx.report(NAME, cls / n_classes)
        top = [words[i] for i in np.argsort(-rates[:, cls], kind="stable")[:PAIR_POOL]]
        pairs: list[tuple[str, ...]] = [tuple(p) for p in itertools.combinations(top, 2)]
        if not pairs:
            continue
        try:
            pair_rates = prober.flip_rates(pairs, n_classes, len(probes))[:, cls]
        except BudgetExhausted:
            complete = False
            break
        i = int(np.argmax(pair_rates))
        if pair_rates[i] > best[cls]:
            best[cls], combo[cls] = float(pair_rates[i]), pairs[i]
    target = int(np.argmax(best))
    rest = np.delete(best, target)
    contrast = float(best[target] - (np.median(rest) if len(rest) else 0.0))
    trigger = None
    if target in combo:
        tokens = combo[target]
        absent = all(all(t not in p.split() for p in probes) for t in tokens)
        trigger = f"tokens {list(tokens)} flip {best[target]:.0%} of probes" + (
            ", absent from the probes" if absent else ""
        )
    note = "best flips " + " ".join(f"{b:.2f}" for b in best)
    return Evidence(contrast, target, trigger, complete=complete, note=note)
