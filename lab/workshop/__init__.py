"""Workshops: exercises on a running lab, graded by what the kernel and the switches do.

An exercise is data (titles, task, hints and questions in English and Chinese, the lab it runs on)
plus small functions: `setup` breaks or prepares the lab, `criteria` observe it, `solve` is the
reference solution. Grading never reads what the student typed: it pings, traces, reads flows,
rules, etcd keys and files, and compares typed answers with the lab's real state.
"""
