"""An exercise as data: texts in two languages, the lab it needs, questions, criteria, setup, solve,
the wrong fixes its graders must refuse, and its stages."""

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
    """One observation of the lab. A *control* criterion holds on the broken lab too (it proves the rest
    of the lab still works, e.g. a path the fault does not touch); every other criterion must fail there."""

    name: Text
    observe: Callable[[object], Outcome] = field(compare=False)
    control: bool = False


@dataclass(frozen=True)
class WrongFix:
    """A plausible wrong fix a student may try (a flow on the wrong port, a rule that never matches, a local
    alias, a hand-made flow instead of the API object, a wrong answer): `apply` does it to the broken lab;
    `answers` are typed as the student would. `lab workshop verify` proves at least one criterion fails."""

    name: str
    apply: Callable[[object], None] = field(default=lambda lab: None, compare=False)
    answers: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Stage:
    """One step of a staged exercise: its own task, questions and criteria. A stage starts from a
    checkpoint of the lab taken when the student reached it (`stage`, `reset --stage N`)."""

    title: Text
    task: Text
    questions: Tuple[Question, ...] = ()
    criteria: Tuple[Criterion, ...] = ()
    solve: Callable[[object], None] = field(default=lambda lab: None, compare=False)


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
    wrong_fixes: Tuple[WrongFix, ...] = ()
    stages: Tuple[Stage, ...] = ()

    def text(self, what: str, lang: str) -> str:
        return getattr(self, what).get(lang) or getattr(self, what)["en"]

    def hint_list(self, lang: str) -> Sequence[str]:
        return self.hints.get(lang) or self.hints["en"]

    def question(self, key: str, stage: int = 0):
        return next((q for q in self.questions_at(stage) if q.key == key), None)

    # A staged exercise grades, solves and asks per stage (0-based); an exercise without stages is one stage.

    def questions_at(self, stage: int) -> Tuple[Question, ...]:
        return self.stages[stage].questions if self.stages else self.questions

    def criteria_at(self, stage: int) -> Tuple[Criterion, ...]:
        return self.stages[stage].criteria if self.stages else self.criteria

    def solve_at(self, stage: int) -> Callable[[object], None]:
        return self.stages[stage].solve if self.stages else self.solve

    def task_at(self, stage: int, lang: str) -> str:
        """The exercise's task, then (staged) the current stage's own task."""
        if not self.stages:
            return self.text("task", lang)
        st = self.stages[stage]
        head = f"[{'stage' if lang == 'en' else '阶段'} {stage + 1}/{len(self.stages)}] {st.title.get(lang) or st.title['en']}"
        return f"{self.text('task', lang)}\n\n{head}\n{st.task.get(lang) or st.task['en']}"


def text(en: str, zh: str) -> Text:
    return {"en": en, "zh": zh}


def hints(en: List[str], zh: List[str]) -> Dict[str, Tuple[str, ...]]:
    return {"en": tuple(en), "zh": tuple(zh)}
