"""etcd Raft leader election and commit latency (etcd v3.4/3.5 ``raft`` semantics).

:class:`ElectionModel` samples the write gap after a leader loss with a small
discrete-event simulation per election, at the level of raft ticks:

* every member ticks every ``heartbeat`` with its own random phase; a follower
  counts ``electionElapsed`` in its own ticks since the last leader message and
  campaigns when it reaches ``randomizedElectionTimeout`` (uniform integer in
  ``[et, 2et-1]``, re-drawn on becomeFollower/becomeCandidate, not on
  becomePreCandidate);
* check-quorum: a member that has a leader and ``electionElapsed < et`` ignores
  (Pre)Vote requests of a higher term -- an early candidate can therefore fail
  silently and must wait a fresh timeout, which is what makes 5 members only
  slightly faster than 3 and produces the tail;
* votes, rejections, term bumps and (optionally) the pre-vote round follow
  ``raft.Step``/``stepCandidate``/``poll`` (a campaign is lost once rejections
  exceed ``n - quorum``); a message from i to j takes ``rtt[i][j] / 2``.

Reset model (chosen from the calibration): a follower's election clock counts
from the leader's last *heartbeat* (sent every leader tick, so it lies uniformly
within one tick before the loss), not from an append arriving at the loss. The
append-reset model cannot produce the measured minimum (866 ms is below its
floor of (et-1) ticks = 900 ms) and it overshoots the 3-member mean by ~7% where
the heartbeat model is within 3% (``tests/test_raft.py``).

Client constant: the measured gap is what a writing client sees, so after the
protocol's part (the win plus the new leader's commit of the empty entry of its
term: RTT to its quorum + fsync) :data:`CLIENT_RETRY` is added. The write in
flight when the leader died is lost (the connection to it resets; a proposal a
follower forwarded to it is never answered, one reaching a follower without a
leader is dropped), so the client succeeds only with a retry sent after the new
leader can commit, i.e. up to one retry interval later. This is wall-clock, not
ticks: the 50/500 ms case (705 ms) is above half the 100/1000 ms one (1311 ms),
which a tick-proportional term cannot produce. 25 ms is the clientv3 retry
backoff (``defaultBackoffWaitBetween``) and lies inside the least-squares range
of the three measured means (25 ms on absolute, 33 ms on relative errors).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable

import numpy as np

from kchaos.model.cluster import EtcdTiming

#: Client-side share of the write gap (seconds): the retry of the write lost with
#: the old leader (module doc). One constant for every timing and cluster size.
CLIENT_RETRY: float = 0.025

CAUSES = ("leader-lost", "quorum-restored")

_F, _PC, _C = 0, 1, 2  # follower, pre-candidate, candidate
_NONE, _OTHER = -1, -2  # vote: nobody / the old leader (not simulated)
_FIRE, _VOTE, _RESP = 0, 1, 2
_GRANT = 2  # flag bit in a response (bit 0 = pre-vote)


def quorum_of(n: int) -> int:
    """Raft quorum over all ``n`` members (dead ones included)."""
    return n // 2 + 1


def commit_latency(rtt: np.ndarray, leader: int, up: Iterable[int], quorum: int, fsync: float) -> float:
    """RTT from the leader to its (quorum-1)-th nearest up member + fsync.

    The leader appends locally (fsync) and needs ``quorum - 1`` acknowledgements;
    with quorum 1 that is fsync alone. ``inf`` if fewer than ``quorum`` are up.
    """
    need = quorum - 1
    if need <= 0:
        return float(fsync)
    others = sorted(float(rtt[leader][j]) for j in set(up) if j != leader)
    if len(others) < need:
        return math.inf
    return others[need - 1] + float(fsync)


def transfer_gap(rtt: np.ndarray, old: int, new: int, up: Iterable[int], quorum: int, fsync: float) -> float:
    """Writes stopped while a leader hands over on a graceful stop: no election timeout.

    etcd's Stop transfers leadership first (``server/etcdserver/server.go``: TransferLeadership
    -> MoveLeader, to the longest-connected member). The leader stops taking proposals and,
    its transferee's log being current, sends MsgTimeoutNow at once (raft ``raft.go``:
    stepLeader MsgTransferLeader -> sendTimeoutNow); the transferee campaigns without waiting
    for a timeout (stepFollower MsgTimeoutNow -> ``hup(campaignTransfer)``). So: half an RTT
    to the transferee, one round for a quorum of persisted votes, one for its first commit.
    """
    return float(rtt[old][new]) / 2.0 + 2.0 * commit_latency(rtt, new, up, quorum, fsync)


class _Draw:
    """Randomized election timeouts (ticks) for one election: its own pre-drawn
    values first (so a sample's result does not depend on how its batch-mates
    were resolved), then a shared overflow generator."""

    __slots__ = ("overflow", "lo", "hi", "buf", "pos")

    def __init__(self, own: list[int], overflow: np.random.Generator, et: int):
        self.overflow, self.lo, self.hi = overflow, et, 2 * et
        self.buf = own
        self.pos = 0

    def __call__(self) -> int:
        if self.pos >= len(self.buf):
            self.buf = self.overflow.integers(self.lo, self.hi, size=16).tolist()
            self.pos = 0
        self.pos += 1
        return self.buf[self.pos - 1]


def _simulate(
    d: list[list[float]],
    n: int,
    et: int,
    prevote: bool,
    phase: list[float],
    timeout: list[int],
    r0: float,
    has_lead: bool,
    draw: _Draw,
    max_events: int = 200_000,
) -> tuple[float, int]:
    """One election, event by event. Times in ticks; returns (win time, local winner).

    ``d``: one-way delays between the live members (ticks); ``phase``: tick
    phases in [0, 1); ``timeout``: initial randomized timeouts; ``r0``: time of
    the last election-clock reset (<= 0); ``has_lead``: members still know a
    leader (check-quorum lease applies).
    """
    m = len(phase)
    q = quorum_of(n)
    lose = n - q + 1  # VoteLost once rejections exceed n - quorum
    floor = math.floor
    phase = list(phase)
    R = list(timeout)
    base = [floor(r0 - p) for p in phase]  # tick index of the last elapsed reset
    term = [0] * m
    vote = [_OTHER if has_lead else _NONE] * m
    lead = [has_lead] * m
    state = [_F] * m
    ver = [0] * m
    polls: list[dict[int, bool]] = [{} for _ in range(m)]
    heap: list[tuple] = []
    seq = 0

    def push(t: float, kind: int, a: int, b: int, c: int = 0, e: int = 0) -> None:
        nonlocal seq
        seq += 1
        heapq.heappush(heap, (t, seq, kind, a, b, c, e))

    def schedule(j: int) -> None:
        ver[j] += 1
        push(phase[j] + base[j] + R[j], _FIRE, j, ver[j])

    def become_follower(j: int, t: float, T: int) -> None:
        if term[j] != T:
            term[j], vote[j] = T, _NONE
        lead[j], state[j] = False, _F
        base[j] = floor(t - phase[j])
        R[j] = draw()
        schedule(j)

    def campaign(j: int, t: float, pre: bool, tick: int | None) -> tuple[float, int] | None:
        """becomePreCandidate / becomeCandidate at time t (on tick ``tick`` if known)."""
        if pre:
            state[j], lead[j] = _PC, False
            T = term[j] + 1
        else:
            term[j] += 1
            vote[j], lead[j], state[j] = j, False, _C
            base[j] = tick if tick is not None else floor(t - phase[j])
            R[j] = draw()
            schedule(j)
            T = term[j]
        polls[j] = {j: True}
        if q == 1:
            return campaign(j, t, False, tick) if pre else (t, j)
        dj = d[j]
        for k in range(m):
            if k != j:
                push(t + dj[k], _VOTE, j, k, T, int(pre))
        return None

    for j in range(m):
        schedule(j)

    for _ in range(max_events):
        t, _s, kind, a, b, T, e = heapq.heappop(heap)
        if kind == _FIRE:
            if b != ver[a]:
                continue
            tick = base[a] + R[a]
            base[a] = tick  # tickElection: electionElapsed = 0, then MsgHup
            if prevote:
                schedule(a)  # becomePreCandidate keeps the randomized timeout
                won = campaign(a, t, True, tick)
            else:
                won = campaign(a, t, False, tick)
            if won is not None:
                return won
        elif kind == _VOTE:
            c, k, pre = a, b, e
            if T > term[k]:
                if lead[k] and floor(t - phase[k]) - base[k] < et:
                    continue  # check-quorum lease: ignored, no response
                if not pre:
                    become_follower(k, t, T)
            elif T < term[k]:
                if pre:
                    push(t + d[k][c], _RESP, k, c, term[k], 1)
                continue
            if vote[k] == c or (vote[k] == _NONE and not lead[k]) or (pre and T > term[k]):
                push(t + d[k][c], _RESP, k, c, T, pre | _GRANT)
                if not pre:
                    vote[k] = c
                    base[k] = floor(t - phase[k])
                    schedule(k)
            else:
                push(t + d[k][c], _RESP, k, c, term[k], pre)
        else:
            k, c = a, b
            pre, granted = e & 1, bool(e & _GRANT)
            if T > term[c]:
                if not (pre and granted):
                    become_follower(c, t, T)
                    continue
            elif T < term[c]:
                continue
            if state[c] != (_PC if pre else _C):
                continue
            poll = polls[c]
            if k not in poll:
                poll[k] = granted
            g = sum(poll.values())
            if g >= q:
                if not pre:
                    return t, c
                won = campaign(c, t, False, None)
                if won is not None:
                    return won
            elif len(poll) - g >= lose:
                become_follower(c, t, term[c])
    raise RuntimeError("raft election did not converge")


class ElectionModel:
    """Samples etcd leader elections over one member RTT matrix and timing."""

    _BATCH_MIN, _BATCH_MAX = 64, 4096
    _REDRAWS = 4  # pre-drawn timeouts per member per election (then overflow)
    #: election clocks restart at the leader's last heartbeat (see module doc);
    #: False = at the loss itself (append-reset model, kept for comparison).
    reset_at_heartbeat: bool = True

    def __init__(self, rtt: np.ndarray, timing: EtcdTiming):
        rtt = np.asarray(rtt, dtype=float)
        if rtt.ndim != 2 or rtt.shape[0] != rtt.shape[1] or rtt.shape[0] == 0:
            raise ValueError("rtt must be a non-empty square matrix")
        if timing.heartbeat <= 0 or timing.election_timeout <= 0:
            raise ValueError("heartbeat and election timeout must be positive")
        self.rtt = rtt
        self.timing = timing
        self.n = rtt.shape[0]
        self.quorum = quorum_of(self.n)
        self.hb = float(timing.heartbeat)
        # raft requires ElectionTick > HeartbeatTick (= 1)
        self.et = max(2, int(round(timing.election_timeout / timing.heartbeat)))
        self._keys: dict[tuple[tuple[int, ...], str], dict] = {}

    # -- public ---------------------------------------------------------
    def sample(self, rng: np.random.Generator, live: tuple[int, ...], cause: str) -> tuple[float, int]:
        """Seconds of write unavailability from the loss to the new leader's win, and the winner.

        live: members alive and in the partition that holds quorum (the old leader
        excluded when it died or was cut off). cause: 'leader-lost' (followers heard
        the leader until the loss) or 'quorum-restored' (no leader; every live member
        restarts its timers when quorum returns). The figure includes the new
        leader's first commit and :data:`CLIENT_RETRY` (module doc).
        """
        try:
            c = self._keys.get((live, cause))
        except TypeError:  # unhashable live (e.g. a list)
            live = tuple(live)
            c = self._keys.get((live, cause))
        if c is None:
            c = self._prepare(live, cause)
        if c["rng"] is not rng or c["pos"] >= len(c["gap"]):
            self._refill(c, rng)
        p = c["pos"]
        c["pos"] = p + 1
        return c["gap"][p], c["who"][p]

    # -- internals ------------------------------------------------------
    def _prepare(self, live: tuple[int, ...], cause: str) -> dict:
        if cause not in CAUSES:
            raise ValueError(f"unknown election cause {cause!r}")
        members = tuple(int(x) for x in live)
        if len(set(members)) != len(members) or any(not 0 <= x < self.n for x in members):
            raise ValueError(f"bad live members {live!r}")
        if len(members) < self.quorum:
            raise ValueError(f"{len(members)} live members cannot elect (quorum {self.quorum} of {self.n})")
        sub = self.rtt[np.ix_(members, members)] / self.hb
        d = sub / 2.0  # one-way, ticks
        after = np.array(
            [commit_latency(self.rtt, w, members, self.quorum, self.timing.fsync) for w in members]
        )
        c = {
            "live": members,
            "d": d,
            "dl": d.tolist(),
            "rt": d + d.T,
            "has_lead": cause == "leader-lost",
            "after": after + CLIENT_RETRY,
            "rng": None,
            "gap": [],
            "who": [],
            "pos": 0,
            "batch": self._BATCH_MIN,
        }
        self._keys[(live, cause)] = c
        return c

    def _refill(self, c: dict, rng: np.random.Generator) -> None:
        # batches grow while one generator keeps drawing; a different generator
        # drops the leftovers so its results never depend on another's draws
        c["batch"] = min(2 * c["batch"], self._BATCH_MAX) if c["rng"] is rng else self._BATCH_MIN
        c["rng"] = rng
        t, w = self._batch(c, rng, c["batch"], fast=True)
        c["gap"] = (t * self.hb + c["after"][w]).tolist()
        c["who"] = [c["live"][i] for i in w.tolist()]
        c["pos"] = 0

    def _draw_initial(self, c: dict, rng: np.random.Generator, B: int):
        m = len(c["live"])
        phase = rng.random((B, m))
        timeout = rng.integers(self.et, 2 * self.et, size=(B, m))
        lag = rng.random(B)  # time since the leader's last heartbeat, ticks
        r0 = -lag if (c["has_lead"] and self.reset_at_heartbeat) else np.zeros(B)
        redraws = rng.integers(self.et, 2 * self.et, size=(B, self._REDRAWS * m))
        overflow = np.random.default_rng(int(rng.integers(2**63)))
        return phase, timeout, r0, redraws, overflow

    def _batch(self, c: dict, rng: np.random.Generator, B: int, fast: bool) -> tuple[np.ndarray, np.ndarray]:
        """B elections: (win times in ticks, local winners). Clean first campaigns
        are resolved vectorised; anything else runs :func:`_simulate`."""
        phase, timeout, r0, redraws, overflow = self._draw_initial(c, rng, B)
        m, q, et = len(c["live"]), self.quorum, self.et
        prevote, has_lead = bool(self.timing.pre_vote), c["has_lead"]
        win = np.full(B, np.inf)
        who = np.zeros(B, dtype=np.int64)
        if fast:
            rows = np.arange(B)
            base = np.floor(r0[:, None] - phase)
            fire = phase + base + timeout
            if m > 1:
                order = np.argpartition(fire, 1, axis=1)
                first, second = order[:, 0], fire[rows, order[:, 1]]
            else:
                first, second = np.zeros(B, dtype=np.int64), np.full(B, np.inf)
            t1 = fire[rows, first]
            D, RT = c["d"][first], c["rt"][first]

            def round_(t0: np.ndarray) -> np.ndarray:
                """Time the (q-1)-th grant returns to a request broadcast at t0."""
                if q == 1:
                    return t0
                el = np.floor(t0[:, None] + D - phase) - base
                ok = (el >= et) if has_lead else np.ones_like(el, dtype=bool)
                ok[rows, first] = False
                return t0 + np.partition(np.where(ok, RT, np.inf), q - 2, axis=1)[:, q - 2]

            tw = round_(round_(t1)) if prevote else round_(t1)
            good = np.isfinite(tw) & (tw < second) & (tw < t1 + et - 1)
            win[good], who[good] = tw[good], first[good]
        else:
            good = np.zeros(B, dtype=bool)
        for b in np.flatnonzero(~good).tolist():
            win[b], who[b] = _simulate(
                c["dl"], self.n, et, prevote, phase[b].tolist(), timeout[b].tolist(),
                float(r0[b]), has_lead, _Draw(redraws[b].tolist(), overflow, et),
            )
        return win, who
