"""The words Audience Lab uses, as data: one definition each, shown in the sidebar of every page,
at the end of the report (HTML and PDF) and wherever a page needs the definition of a term.

The wording follows the design notes' table of words and measures (DESIGN.md), so a strategist
reading "episode" or "net value" on any page, in the hand-out or on the Compare page reads the
same thing. A page that states what net value includes takes the sentence from
:func:`net_value_defined` and says it once; every other mention is the bare term.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    word: str
    meaning: str


#: What net value subtracts, by where it is reported. The campaign pages count one campaign's
#: costs; the Fit advisor values 12 months and adds every tool's and team's cost of ownership.
NET_VALUE_COSTS = {
    "campaign": "the cost of the campaign's sends, of the unsubscribes they cause and any fixed cost of running it",
    "fit": "sends, unsubscribes and 12 months of every tool's and team's cost of ownership (the CRM and a sending "
           "tool are paid in every model)",
}

TERMS: tuple[Term, ...] = (
    Term("world", "One generated scenario: the ground truth (who people are, what they did, what they needed) "
                  "plus what the CRM and the CDP each observe of it. Same preset, seed and knobs give the same world."),
    Term("person", "A real human in the world's ground truth, with the identifiers they leave behind: anonymous "
                   "browser ids, a user id, e-mail addresses."),
    Term("account", "A B2B company a person belongs to."),
    Term("event", "Something a person did — a page view, a cart, a purchase, an e-mail click — with its time, "
                  "channel and the identifiers it was seen with."),
    Term("need", "The latent need of a play: the world's hidden intent state (in market, cooling, bought) and "
                 "the trigger events that open it. Neither system can see it; it is the default yardstick."),
    Term("yardstick", "What \"truly qualifies\" means when the models are judged: the latent need (default), or "
                      "one system's own rule run on the ground truth, to show how much the definition decides."),
    Term("episode", "A qualifying episode: one interval in which a person truly qualifies for a play (meets the "
                    "yardstick). Every episode counts, not only a person's first; freshness is counted per episode."),
    Term("activation", "The moment a member can actually be reached by the sending tool, after list processing "
                       "or audience sync — not the moment the rule first matched."),
    Term("time to activation", "Per episode: the model's first activation of that person inside the episode or its "
                               "action window, minus the moment the person truly qualified. Episodes never "
                               "activated count as missed, not as zero lag."),
    Term("action window", "How soon after a need opens a message still helps (e.g. 48 h for an abandoned cart); "
                          "an activation inside it counts as in time."),
    Term("profile", "A CDP's stitched identity: the identifiers it believes are one person. It may split a real "
                    "person into several profiles or over-merge two people into one."),
    Term("segment", "A CRM rule on contact, company and deal fields (lifecycle stage, industry, tags), evaluated "
                    "on what the CRM has recorded — an active list, or a static list frozen at a date."),
    Term("audience", "A CDP rule on events and traits (\"viewed pricing twice in 48 h, no checkout\"), evaluated on "
                     "the events the CDP received and the profiles it stitched."),
    Term("hybrid", "The CDP collects, resolves identity and builds the audience; the CRM stays the system of "
                   "record; a marketing tool sends to the synced audience."),
    Term("play", "A marketing goal with its definitions: the truth (the need), the CRM segment, the CDP audience "
                 "and, where it adds something, a hybrid rule — e.g. cart abandonment recovery."),
    Term("reachable", "A member the sending tool can message: a contact with a live e-mail, or a profile with an "
                      "e-mail or user id. Anonymous profiles are members but not reachable."),
    Term("stale reach", "People a model could still message for at least a day while they no longer qualified."),
    Term("overlap", "How many people the CRM segment and the CDP audience share at a moment: each region of the "
                    "Venn diagram and the Jaccard index (shared ÷ either)."),
    Term("precision", "Of a model's reachable members, the share who truly qualify at that moment."),
    Term("recall", "Of the people who truly qualify at that moment, the share the model can reach."),
    Term("holdout", "A random share of the audience (drawn per contact or profile) that gets no message, so the "
                    "difference between messaged and held-out people measures what the message did."),
    Term("blast", "The baseline every comparison includes: send to everyone reachable. More messages, and more "
                  "irrelevant ones that cost unsubscribes."),
    Term("lift", "What the message changed: the conversion rate of the messaged minus that of the holdout. The "
                 "true lift is known to the simulator; the measured lift is what one holdout test reports."),
    Term("pp", "Percentage points: the difference between two percentages (4% → 6% is +2 pp, a 50% relative "
               "lift)."),
    Term("interval (95%)", "The range a test's estimate is given with; across many reruns of the same test, 95 "
                           "in 100 such ranges contain the true value."),
    Term("p-value", "How surprising the measured difference would be if the message did nothing; below 0.05 is "
                    "called significant."),
    Term("power", "The chance a test of this size and holdout detects an effect of a given size; below the "
                  "target (80% by default) the test is called underpowered."),
    Term("incremental revenue", "Revenue that happened because of the message: revenue of the messaged minus what "
                                "the same people would have spent unmessaged."),
    Term("net value", "True incremental revenue minus every cost counted where it is shown: on the campaign pages "
                      f"{NET_VALUE_COSTS['campaign']}; on Fit, {NET_VALUE_COSTS['fit']}."),
    Term("ops level", "How well each side is run (well run, default, poorly run): tracking and hygiene, list and "
                      "audience delays, how its tool sends, days to launch. It changes only its own system, never "
                      "the world."),
    Term("stack", "The products chosen for each role (CRM, CDP, sending tool); each applies the settings its "
                  "vendor documents, and a knob you move yourself wins."),
)


def net_value_defined(scope: str = "campaign") -> str:
    """The one sentence a page uses to say what its net value subtracts ('campaign' or 'fit')."""
    if scope not in NET_VALUE_COSTS:
        raise ValueError(f"unknown net value scope {scope!r}; accepted: {', '.join(NET_VALUE_COSTS)}")
    return f"net value = true incremental revenue minus {NET_VALUE_COSTS[scope]}"


def lookup(word: str) -> Term:
    """The term for ``word`` (case-insensitive); KeyError naming the known words otherwise."""
    for term in TERMS:
        if term.word.lower() == word.strip().lower():
            return term
    raise KeyError(f"{word!r} is not in the glossary; it has {', '.join(t.word for t in TERMS)}")


def as_markdown(terms: tuple[Term, ...] = TERMS) -> str:
    """The glossary as a Markdown list, alphabetical, for the sidebar."""
    return "\n".join(f"- **{t.word}** — {t.meaning}" for t in sorted(terms, key=lambda t: t.word.lower()))


def as_html(terms: tuple[Term, ...] = TERMS) -> str:
    """The glossary as an HTML definition list, for the report."""
    import html

    items = "".join(f"<dt>{html.escape(t.word)}</dt><dd>{html.escape(t.meaning)}</dd>"
                    for t in sorted(terms, key=lambda t: t.word.lower()))
    return f"<dl class='glossary'>{items}</dl>"


__all__ = ["NET_VALUE_COSTS", "TERMS", "Term", "as_html", "as_markdown", "lookup", "net_value_defined"]
