"""rouge_score's summary-level union-LCS hit count (rougeLsum), exactly, with bit-parallel LCS."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence


def summary_lcs_hits(ref_sents: Sequence[Sequence[int]], can_sents: Sequence[Sequence[int]]) -> int:
    """rouge_score's ``_summary_level_lcs`` hit count, exactly, with bit-parallel LCS.

    For each reference sentence, the union of one LCS with each candidate sentence, where the
    LCS is the one rouge_score's backtracking picks (from the end: take a match, else go up
    while the row above has the same LCS value, else go left); hits are counted per token up
    to its count in the candidate (rouge_score's guard against double counting).

        >>> summary_lcs_hits([[1, 2, 3], [4, 2]], [[1, 2], [2, 4]])
        4

    Reference sentences are packed into one integer, one bit per token plus a guard bit after
    each sentence, so one pass of Hyyro's bit-vector LCS recurrence over a candidate sentence
    computes the DP column of every reference sentence at once. The backtrack needs one step
    per LCS match: within a column it moves up to the nearest row that matches or where the LCS
    value rises; from such a row without a match it can only move left along that row to the
    nearest earlier column holding the row's token.
    """
    match: dict[int, int] = {}  # token -> bits of its positions in the packed reference
    ref_token: list[int] = []  # packed bit position -> token (-1 for guard bits)
    spans: list[tuple[int, int]] = []  # per reference sentence: (first bit, one past its last)
    for sentence in ref_sents:
        start = len(ref_token)
        for k, token in enumerate(sentence):
            match[token] = match.get(token, 0) | 1 << (start + k)
        ref_token.extend(sentence)
        ref_token.append(-1)
        if sentence:
            spans.append((start, start + len(sentence)))
    rows = sum(((1 << (end - start)) - 1) << start for start, end in spans)
    union = 0
    for cand in can_sents:
        v = rows  # Hyyro's vector: a 0 bit marks a row where the LCS value rises
        columns = [0]  # per column j: rows where the LCS value rises, or the token matches
        column_match = [0]
        where: dict[int, int] = {}  # candidate token -> bits of its columns (bit j-1)
        for j, token in enumerate(cand):
            m = match.get(token, 0)
            if m:
                u = v & m
                v = ((v + u) | (v - u)) & rows
                where[token] = where.get(token, 0) | 1 << j
                columns.append((rows ^ v) | m)
            else:
                columns.append(rows ^ v)
            column_match.append(m)
        if v == rows:
            continue  # no common token
        for start, below in spans:
            j = len(cand)
            while j:
                row = (columns[j] & ((1 << below) - 1)).bit_length() - 1
                if row < start:
                    break
                if not column_match[j] >> row & 1:  # no match: go left along this row
                    left = where.get(ref_token[row], 0) & ((1 << (j - 1)) - 1)
                    if not left:
                        break
                    j = left.bit_length()
                union |= 1 << row
                below = row
                j -= 1
    cand_counts = Counter(itertools.chain.from_iterable(can_sents))
    hits = 0
    for token, positions in match.items():
        found = (union & positions).bit_count()
        if found:
            count = cand_counts[token]
            hits += found if found < count else count
    return hits
