#!/usr/bin/python3
"""baseline_ref.py - the expected values of tests/unit/test_baseline.c,
computed independently with numpy (float64, EASE in its primal form
B = I - P / diag(P), P = (X'X + lambda I)^-1, whatever side the C code
inverts).  Run: /usr/bin/python3 tests/unit/baseline_ref.py"""
import numpy as np

items = [1, 2, 3, 4]


def matrix(rows):
    X = np.zeros((len(rows), len(items)))
    for r, row in enumerate(rows):
        for i in row:
            X[r, items.index(i)] = 1
    return X


def ease_B(X, lam):
    P = np.linalg.inv(X.T @ X + lam * np.eye(X.shape[1]))
    B = np.eye(X.shape[1]) - P / np.diag(P)
    return B


A = matrix([[1, 2], [1, 2, 3], [2, 3], [3, 4], [1, 4]])
G = A.T @ A
d = np.sqrt(np.diag(G))
print("case A (5 users x 4 items) item-kNN cosine:")
print(np.round(G / np.outer(d, d), 6))
print("case A EASE B, lambda 1 (items side in C):")
print(np.round(ease_B(A, 1.0), 6))
Bx = matrix([[1, 2, 3], [2, 4]])
print("case B (2 users x 4 items) EASE B, lambda 1 (users side in C):")
print(np.round(ease_B(Bx, 1.0), 6))
print("case B history {2, 4}: x B =", np.round(matrix([[2, 4]]) @ ease_B(Bx, 1.0), 6))
