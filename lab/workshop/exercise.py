"""An exercise as data: texts in two languages, the lab it needs, questions, criteria, setup, solve."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Sequence, Tuple

LANGS = ("en", "zh")
Text = Dict[str, str]  # lang -> text


@dataclass(frozen=True)
class Question:
    """`answer KEY VALUE`: the value is compared with `truth(lab)`, read from the running lab."""

    key: str
    text: Text
    truth: Callable[[object], str] = field(compare=False)
    normalize: Callable[[str], str] = field(default=lambda s: s.strip().lower(), compare=False)


@dataclass
class Outcome:
    """One criterion's observation: passed or not, and what was seen."""

    ok: bool
    seen: str


@dataclass(frozen=True)
class Criterion:
    name: Text
    observe: Callable[[object], Outcome] = field(compare=False)


@dataclass(frozen=True)
class Exercise:
    id: str
    topology: str
    run_args: Tuple[str, ...]  # `lab run TOPOLOGY ...` options (small labs: 2 nodes x 1-2 pods)
    minutes: int
    title: Text
    task: Text
    hints: Dict[str, Tuple[str, ...]]  # lang -> progressive hints
    questions: Tuple[Question, ...] = ()
    criteria: Tuple[Criterion, ...] = ()
    setup: Callable[[object], None] = field(default=lambda lab: None, compare=False)
    solve: Callable[[object], None] = field(default=lambda lab: None, compare=False)
    datapaths: Tuple[str, ...] = ("system", "netdev")  # where the exercise makes sense

    def text(self, what: str, lang: str) -> str:
        return getattr(self, what).get(lang) or getattr(self, what)["en"]

    def hint_list(self, lang: str) -> Sequence[str]:
        return self.hints.get(lang) or self.hints["en"]

    def question(self, key: str):
        return next((q for q in self.questions if q.key == key), None)


def text(en: str, zh: str) -> Text:
    return {"en": en, "zh": zh}


def hints(en: List[str], zh: List[str]) -> Dict[str, Tuple[str, ...]]:
    return {"en": tuple(en), "zh": tuple(zh)}
