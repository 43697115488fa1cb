package main

import (
	"context"
	"fmt"
	"log"
	"sync"
	"time"
)

// Kinds of round.
const (
	kindLeader = "leader killed"
	kindQuorum = "quorum lost"
)

// How long the killed members stay down. A leader kill: long enough for
// any loss a pipeline would announce falsely (stabilize and an election
// included); a quorum loss: long enough for the fast pipelines to notify.
// The mixin's quorum losses stay down until it notified, at most
// mixinHold: its etcdNoLeader waits a minute after a 30 s scrape.
const (
	leaderHold = 6 * time.Second
	quorumHold = 8 * time.Second
	mixinHold  = 150 * time.Second
	quietFor   = 2 * time.Second
	quietLimit = 30 * time.Second
)

// round is one fault on one cluster: its leader killed (kill -9), or its
// leader and a follower (quorum lost).
type round struct {
	Cluster string    `json:"cluster"`
	Kind    string    `json:"kind"`
	Leader  string    `json:"leader"`
	Killed  []string  `json:"killed"`
	Kill    time.Time `json:"kill"`
	// Known: when a survivor first named the new leader, or first said it
	// had none (etcd's own view; the main cluster only).
	Known    time.Time `json:"known,omitzero"`
	Restored time.Time `json:"restored,omitzero"`
	// End, when set: notifications after it belong to no round (a mixin
	// cluster left down once its quorum loss was notified).
	End time.Time `json:"end,omitzero"`
	// Quiet: every pipeline had settled when the kill came.
	Quiet bool `json:"quiet"`
}

// mainRounds alternates leader kills and quorum losses on the main
// cluster, each followed by a restart and a quiet, healthy cluster.
func (b *bench) mainRounds(ctx context.Context, n int) ([]round, error) {
	var rounds []round
	for i := range 2 * n {
		kind := kindLeader
		if i%2 == 1 {
			kind = kindQuorum
		}
		r, err := b.mainRound(ctx, kind)
		if err != nil {
			return rounds, err
		}
		log.Printf("main: %s (%v killed)", kind, r.Killed)
		rounds = append(rounds, r)
	}
	if leader, err := b.main.waitAgreed(ctx, time.Minute); err == nil {
		b.waitQuiet(ctx, leader) // the last round's late notifications count too
	}
	for i := range rounds {
		rounds[i].Known = b.known(rounds[i])
	}
	return rounds, nil
}

func (b *bench) mainRound(ctx context.Context, kind string) (round, error) {
	leader, err := b.main.waitAgreed(ctx, time.Minute)
	if err != nil {
		return round{}, err
	}
	r := round{Cluster: b.main.name, Kind: kind, Leader: leader, Killed: []string{leader}, Quiet: b.waitQuiet(ctx, leader)}
	hold := leaderHold
	if kind == kindQuorum {
		r.Killed, hold = append(r.Killed, b.main.others(leader)[0]), quorumHold
	}
	r.Kill = b.main.kill(r.Killed...)
	if err := pause(ctx, time.Until(r.Kill.Add(hold))); err != nil {
		return r, err
	}
	r.Restored = time.Now()
	return r, b.main.restart(r.Killed...)
}

// waitQuiet waits until no notification about the main cluster arrived
// for a while, the tuned Prometheus has no alert left and leaderhook sees
// every member follow leader: the next kill then starts from a clean slate
// for every pipeline. It gives up after quietLimit.
func (b *bench) waitQuiet(ctx context.Context, leader string) bool {
	deadline := time.Now().Add(quietLimit)
	for time.Now().Before(deadline) {
		if time.Since(b.recv.lastAt(b.main.name)) >= quietFor && b.tuned.quiet(ctx) && b.lh.agrees(ctx, leader) {
			return true
		}
		if pause(ctx, 200*time.Millisecond) != nil {
			return false
		}
	}
	log.Printf("main: the pipelines were not quiet within %s; the round starts anyway", quietLimit)
	return false
}

// known is when etcd's survivors first knew what the round did: the new
// leader, or that there is none.
func (b *bench) known(r round) time.Time {
	survivors := b.main.others(r.Killed...)
	if r.Kind == kindLeader {
		return b.ref.first(r.Kill, r.Restored, survivors, func(s sighting) bool { return s.Leader != "" && s.Leader != r.Leader })
	}
	return b.ref.first(r.Kill, r.Restored, survivors, func(s sighting) bool { return !s.Unreachable && s.Leader == "" })
}

// mixinRounds runs, alongside the main cluster's rounds, a leader kill and
// then a quorum loss on each of the mixin's clusters. The quorum losses
// are spread over one scrape interval, so that they fall at different
// points of it, and stay down until the mixin notified.
func (b *bench) mixinRounds(ctx context.Context, start time.Time) ([]round, error) {
	per := make([][]round, len(b.mixin))
	errs := make([]error, len(b.mixin))
	var wg sync.WaitGroup
	for i, c := range b.mixin {
		spread := b.mixinProm.interval * time.Duration(i) / time.Duration(len(b.mixin))
		wg.Go(func() {
			per[i], errs[i] = b.mixinCluster(ctx, c, start.Add(time.Duration(i)*3*time.Second), start.Add(45*time.Second+spread))
		})
	}
	wg.Wait()
	var rounds []round
	for i := range per {
		if errs[i] != nil {
			return nil, errs[i]
		}
		rounds = append(rounds, per[i]...)
	}
	return rounds, nil
}

func (b *bench) mixinCluster(ctx context.Context, c *cluster, leaderKill, quorumKill time.Time) ([]round, error) {
	if err := pause(ctx, time.Until(leaderKill)); err != nil {
		return nil, err
	}
	leader, err := c.waitAgreed(ctx, time.Minute)
	if err != nil {
		return nil, err
	}
	first := round{Cluster: c.name, Kind: kindLeader, Leader: leader, Killed: []string{leader}, Quiet: true}
	first.Kill = c.kill(leader)
	if err := pause(ctx, time.Until(first.Kill.Add(leaderHold))); err != nil {
		return nil, err
	}
	first.Restored = time.Now()
	if err := c.restart(leader); err != nil {
		return nil, err
	}
	if err := pause(ctx, time.Until(quorumKill)); err != nil {
		return nil, err
	}
	if leader, err = c.waitAgreed(ctx, time.Minute); err != nil {
		return nil, err
	}
	second := round{Cluster: c.name, Kind: kindQuorum, Leader: leader, Killed: []string{leader, c.others(leader)[0]}, Quiet: true}
	second.Kill = c.kill(second.Killed...)
	if err := b.waitMixinNotified(ctx, c.name, second.Kill); err != nil {
		return nil, err
	}
	second.End = time.Now()
	log.Printf("%s: leader killed, then quorum lost", c.name)
	return []round{first, second}, nil
}

// waitMixinNotified waits until the mixin said cluster has no leader
// after since, or mixinHold passed.
func (b *bench) waitMixinNotified(ctx context.Context, cluster string, since time.Time) error {
	for time.Since(since) < mixinHold {
		for _, n := range b.recv.notesOf() {
			if n.Pipeline == pipeMixin && n.Cluster == cluster && n.Claim == claimLoss && n.At.After(since) {
				return nil
			}
		}
		if err := pause(ctx, 500*time.Millisecond); err != nil {
			return fmt.Errorf("waiting for the mixin on %s: %w", cluster, err)
		}
	}
	return nil
}
