package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"sync"

	"github.com/leaderhook/leaderhook/config"
	"github.com/leaderhook/leaderhook/detector"
	"github.com/leaderhook/leaderhook/event"
)

// sources runs the event sources, cluster by cluster, so that a reload
// restarts only those whose definition changed. A followed file resumes
// where it was read to; stdin, read once, is never restarted (a reload that
// would change it is refused).
type sources struct {
	ctx       context.Context // of Run: sources end with it
	out       chan<- event.Event
	stdin     io.Reader
	positions *positionBook
	log       *slog.Logger
	onReject  func(cluster, input string)
	skips     *skipLog // nil: none told of
	// include, if set, picks the clusters this set runs: in a group, poll
	// sources run on the leader only, the others on every node.
	include func(detector.Cluster) bool

	mu      sync.Mutex
	running map[string]*clusterSources
}

// clusterSources are the running sources of one cluster.
type clusterSources struct {
	source  detector.Source
	file    *detector.FileSource // of source.File, if any
	runners []func(ctx context.Context) error
	stop    context.CancelFunc
	done    sync.WaitGroup
}

// plan is what apply will do: the sources to stop, and those to start,
// already built so that apply cannot fail half way.
type plan struct {
	stop  []string
	start map[string]*clusterSources
}

// prepare builds the sources of cfg's clusters that are new or changed.
func (s *sources) prepare(cfg *config.Config) (*plan, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := &plan{start: map[string]*clusterSources{}}
	want := map[string]bool{}
	stdin := ""
	for _, c := range cfg.Clusters {
		if s.include != nil && !s.include(c) {
			continue
		}
		if c.Source.Stdin {
			if stdin != "" {
				return nil, fmt.Errorf("clusters %s and %s both read stdin: only one can", stdin, c.Name)
			}
			stdin = c.Name
		}
		want[c.Name] = true
		if r, ok := s.running[c.Name]; ok {
			if reflect.DeepEqual(c.Source, r.source) {
				continue
			}
			p.stop = append(p.stop, c.Name)
		}
		built, err := s.build(c)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", c.Name, err)
		}
		p.start[c.Name] = built
	}
	for name := range s.running {
		if !want[name] {
			p.stop = append(p.stop, name)
		}
	}
	return p, nil
}

// apply stops and starts what the plan says.
func (s *sources) apply(p *plan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running == nil {
		s.running = map[string]*clusterSources{}
	}
	stopped := map[string]*clusterSources{}
	for _, name := range p.stop {
		r := s.running[name]
		r.stop()
		r.done.Wait()
		delete(s.running, name)
		stopped[name] = r
		if _, again := p.start[name]; !again {
			s.log.Info("event source stopped", "cluster", name)
		}
	}
	for name, r := range p.start {
		if old := stopped[name]; old != nil {
			s.resume(r, old)
			s.log.Info("event source restarted", "cluster", name)
		}
		ctx, stop := context.WithCancel(s.ctx)
		r.stop = stop
		for _, run := range r.runners {
			r.done.Add(1)
			go func() {
				defer r.done.Done()
				if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
					s.log.Error("event source stopped", "cluster", name, "err", err)
				}
			}()
		}
		s.running[name] = r
	}
}

// resume makes a restarted source's file go on where the source it
// replaces stopped reading it: that one read on while the reload was
// prepared, and its lines must not be read twice.
func (s *sources) resume(r, old *clusterSources) {
	if r.file == nil || old.file == nil || r.file.Path != old.file.Path {
		return
	}
	r.file.Start = s.positions.get(r.file.Path)
	if r.file.Start.Inode == 0 {
		r.file.Start = old.file.Start // it read no line: where it began
	}
}

// wait waits for every source to end once the context of Run is done.
func (s *sources) wait() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.running {
		r.done.Wait()
	}
}

// build makes the runners of one cluster's source.
func (s *sources) build(c detector.Cluster) (*clusterSources, error) {
	src := c.Source
	r := &clusterSources{source: src}
	switch src.Type {
	case detector.SourcePoll:
		ps, err := s.pollSource(c)
		if err != nil {
			return nil, err
		}
		r.runners = append(r.runners, func(ctx context.Context) error { return ps.Run(ctx, s.out) })
	case detector.SourceRaft:
		return nil, errors.New("a raft source observes a hashicorp/raft node inside a Go program (detector.RaftSource); `leaderhook run` cannot reach one: use poll or events")
	}
	reject := func(le *event.LineError) {
		s.log.Warn("event rejected", "cluster", c.Name, "err", le.Error())
		s.onReject(c.Name, le.Name)
	}
	skip := func(le *event.LineError) { s.skips.skipped(c.Name, le.Name, le) }
	if src.File != "" {
		fs := &detector.FileSource{Path: src.File, Cluster: c.Name, Start: s.positions.get(src.File), Log: s.log,
			OnReject: reject, OnSkip: skip, OnPosition: func(p detector.Position) { s.positions.set(src.File, p) }}
		fs.Prepare()
		s.positions.started(src.File, fs.Start)
		r.file = fs
		r.runners = append(r.runners, func(ctx context.Context) error { return fs.Run(ctx, s.out) })
	}
	if src.Stdin {
		rs := &detector.ReaderSource{R: s.stdin, Name: "stdin", Cluster: c.Name, OnReject: reject, OnSkip: skip}
		r.runners = append(r.runners, func(ctx context.Context) error {
			err := rs.Run(ctx, s.out)
			if err == nil && ctx.Err() == nil { // the writer went away: say so, nothing else will
				s.log.Warn("stdin ended: no more events from it", "cluster", c.Name)
			}
			return err
		})
	}
	return r, nil
}

func (s *sources) pollSource(c detector.Cluster) (*detector.PollSource, error) {
	src := c.Source
	preset, err := detector.NewPreset(src)
	if err != nil {
		return nil, err
	}
	client, err := detector.NewClient(src)
	if err != nil {
		return nil, err
	}
	return &detector.PollSource{Cluster: c.Name, Members: src.Members, Preset: preset, Interval: src.Interval,
		Timeout: src.Timeout, Grace: src.Grace, Watch: true, Client: client, Log: s.log}, nil
}

// positionBook holds the read positions of followed files, and the
// positions to save.
type positionBook struct {
	mu    sync.Mutex
	files map[string]detector.Position
	// handedOver, on a group's node (see newGroupPositionBook), is what is
	// saved instead of files: where each file's events are the group's.
	// The read positions may be past events that wait for a leader, which
	// a restart would then never hand over. Nil on a daemon alone, which
	// takes the events queued before it saves.
	handedOver map[string]detector.Position
}

// newGroupPositionBook is a group's node's book, resuming from saved.
func newGroupPositionBook(saved map[string]detector.Position) *positionBook {
	handedOver := maps.Clone(saved)
	if handedOver == nil {
		handedOver = map[string]detector.Position{}
	}
	return &positionBook{files: saved, handedOver: handedOver}
}

func (p *positionBook) get(path string) detector.Position {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.files[path]
}

func (p *positionBook) set(path string, pos detector.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.files == nil {
		p.files = map[string]detector.Position{}
	}
	p.files[path] = pos
	if at, ok := p.handedOver[path]; ok && at.Inode == 0 {
		// Its source began before the file existed, and so reads it
		// from its start: where the group's events of it begin.
		p.handedOver[path] = detector.Position{Inode: pos.Inode}
	}
}

// started notes where a file's source begins reading, for a file with no
// position yet: a restart before the group has its events must read them
// again, not start at the end of the file.
func (p *positionBook) started(path string, start detector.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, read := p.files[path]; !read && p.handedOver != nil {
		p.handedOver[path] = start
	}
}

// handOver notes that the group has the events read up to read.
func (p *positionBook) handOver(read map[string]detector.Position) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.handedOver != nil {
		maps.Copy(p.handedOver, read)
	}
}

// snapshot is the positions to save.
func (p *positionBook) snapshot() map[string]detector.Position {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.handedOver != nil {
		return maps.Clone(p.handedOver)
	}
	return maps.Clone(p.files)
}

// read is the positions read up to.
func (p *positionBook) read() map[string]detector.Position {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.files)
}

// StartSources starts the event sources of cfg's clusters, for `leaderhook
// record`, which reads them without a daemon. They run until ctx ends or
// their input does; wait returns once every one has ended.
func StartSources(ctx context.Context, cfg *config.Config, out chan<- event.Event, stdin io.Reader, log *slog.Logger) (wait func(), err error) {
	s := &sources{ctx: ctx, out: out, stdin: stdin, positions: &positionBook{}, log: log, onReject: func(string, string) {},
		skips: &skipLog{log: log}}
	p, err := s.prepare(cfg)
	if err != nil {
		return nil, err
	}
	s.apply(p)
	return s.wait, nil
}
