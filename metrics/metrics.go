package metrics

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hearth-go/hearth/engine"
)

// Observer is an engine.Observer recording into its own Prometheus registry.
type Observer struct {
	reg *prometheus.Registry

	runsStarted   prometheus.Counter
	runsEnded     *prometheus.CounterVec // by status
	runDuration   *prometheus.HistogramVec
	modelCalls    *prometheus.CounterVec // by outcome
	modelDuration prometheus.Histogram
	firstToken    prometheus.Histogram
	tokens        *prometheus.CounterVec // by direction
	ingestFiles   *prometheus.CounterVec // by status
	ingestBytes   prometheus.Counter
	ingestTime    prometheus.Histogram
	sessions      *prometheus.CounterVec // by kind
	commitTime    prometheus.Histogram
	commitWrites  prometheus.Counter
}

// latency buckets from 5ms to about 10 minutes: local model calls are slow.
var slowBuckets = prometheus.ExponentialBuckets(0.005, 2.5, 14)

// New returns an Observer with the Go and process collectors registered.
func New() *Observer {
	o := &Observer{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { o.reg.MustRegister(c) }
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	o.runsStarted = prometheus.NewCounter(prometheus.CounterOpts{Name: "hearth_runs_started_total", Help: "Run executions started (queued runs claimed, or resumed)."})
	o.runsEnded = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hearth_runs_total", Help: "Run executions ended, by the status they ended in (requires_action included)."}, []string{"status"})
	o.runDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "hearth_run_duration_seconds", Help: "Wall time of a run execution, by the status it ended in.", Buckets: slowBuckets}, []string{"status"})
	o.modelCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hearth_model_calls_total", Help: "Model backend calls, by outcome (ok or error)."}, []string{"outcome"})
	o.modelDuration = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hearth_model_call_duration_seconds", Help: "Wall time of one model call.", Buckets: slowBuckets})
	o.firstToken = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hearth_model_time_to_first_token_seconds", Help: "Wait from a model call's start to its first text or tool call.", Buckets: slowBuckets})
	o.tokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hearth_model_tokens_total", Help: "Tokens the backend reported, by direction (in: prompt, out: completion)."}, []string{"direction"})
	o.ingestFiles = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hearth_ingest_files_total", Help: "Vector store files ingested, by outcome (completed or failed)."}, []string{"status"})
	o.ingestBytes = prometheus.NewCounter(prometheus.CounterOpts{Name: "hearth_ingest_bytes_total", Help: "Bytes of the files ingested into vector stores."})
	o.ingestTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hearth_ingest_duration_seconds", Help: "Wall time of one file's ingestion.", Buckets: slowBuckets})
	o.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hearth_sandbox_sessions_total", Help: "Code interpreter sessions the engine met, by kind (start, or reset after an eviction or restart)."}, []string{"kind"})
	o.commitTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "hearth_store_commit_duration_seconds", Help: "Wall time of one database commit (fsync included).", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	o.commitWrites = prometheus.NewCounter(prometheus.CounterOpts{Name: "hearth_store_writes_total", Help: "Writes committed (several share a commit)."})
	for _, c := range []prometheus.Collector{o.runsStarted, o.runsEnded, o.runDuration, o.modelCalls, o.modelDuration,
		o.firstToken, o.tokens, o.ingestFiles, o.ingestBytes, o.ingestTime, o.sessions, o.commitTime, o.commitWrites} {
		f(c)
	}
	return o
}

// Gauge registers a gauge read at scrape time, e.g. an HTTP handler's open
// streams or a sandbox's sessions and memory.
func (o *Observer) Gauge(name, help string, read func() float64) {
	o.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, read))
}

// WatchEngine registers the engine's load gauges: queue depth, busy and
// total workers, the database file's size, and the code interpreter's
// sessions, interpreters and their memory.
func (o *Observer) WatchEngine(e *engine.Engine) {
	o.reg.MustRegister(&statsCollector{stats: e.Stats})
}

// Handler serves the exposition format (for GET /metrics).
func (o *Observer) Handler() http.Handler {
	return promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{Registry: o.reg})
}

// Registry is the registry the Observer records into, to add collectors.
func (o *Observer) Registry() *prometheus.Registry { return o.reg }

func (o *Observer) RunStarted(context.Context, engine.RunEvent) { o.runsStarted.Inc() }

func (o *Observer) RunEnded(_ context.Context, r engine.RunEvent) {
	o.runsEnded.WithLabelValues(r.Status).Inc()
	o.runDuration.WithLabelValues(r.Status).Observe(r.Duration.Seconds())
}

func (o *Observer) ModelCall(_ context.Context, c engine.ModelCallEvent) {
	outcome := "ok"
	if c.Err != nil {
		outcome = "error"
	}
	o.modelCalls.WithLabelValues(outcome).Inc()
	o.modelDuration.Observe(c.Duration.Seconds())
	if c.FirstToken > 0 {
		o.firstToken.Observe(c.FirstToken.Seconds())
	}
	o.tokens.WithLabelValues("in").Add(float64(c.PromptTokens))
	o.tokens.WithLabelValues("out").Add(float64(c.CompletionTokens))
}

func (o *Observer) FileIngested(_ context.Context, f engine.IngestEvent) {
	o.ingestFiles.WithLabelValues(f.Status).Inc()
	o.ingestBytes.Add(float64(f.Bytes))
	o.ingestTime.Observe(f.Duration.Seconds())
}

func (o *Observer) SessionEvent(_ context.Context, s engine.SessionEvent) {
	o.sessions.WithLabelValues(s.Kind).Inc()
}

func (o *Observer) StoreCommit(d time.Duration, writes int) {
	o.commitTime.Observe(d.Seconds())
	o.commitWrites.Add(float64(writes))
}

var _ engine.Observer = (*Observer)(nil)

// statsCollector reads engine.Stats once per scrape for all its gauges.
type statsCollector struct{ stats func() engine.Stats }

var (
	queuedDesc  = prometheus.NewDesc("hearth_runs_queued", "Runs waiting for a worker.", nil, nil)
	busyDesc    = prometheus.NewDesc("hearth_workers_busy", "Run workers executing a run.", nil, nil)
	workersDesc = prometheus.NewDesc("hearth_workers", "Run workers (engine MaxConcurrentRuns).", nil, nil)
	dbDesc      = prometheus.NewDesc("hearth_database_bytes", "Size of the database file.", nil, nil)
	sbSessDesc  = prometheus.NewDesc("hearth_sandbox_sessions", "Code interpreter sessions open.", nil, nil)
	sbProcDesc  = prometheus.NewDesc("hearth_sandbox_interpreters", "Code interpreter interpreters running (sessions' and warm ones).", nil, nil)
	sbMemDesc   = prometheus.NewDesc("hearth_sandbox_memory_bytes", "Resident memory of the running interpreters (child processes, Linux; 0 where not measured).", nil, nil)
)

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- queuedDesc
	ch <- busyDesc
	ch <- workersDesc
	ch <- dbDesc
	ch <- sbSessDesc
	ch <- sbProcDesc
	ch <- sbMemDesc
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	ch <- prometheus.MustNewConstMetric(queuedDesc, prometheus.GaugeValue, float64(s.QueuedRuns))
	ch <- prometheus.MustNewConstMetric(busyDesc, prometheus.GaugeValue, float64(s.BusyWorkers))
	ch <- prometheus.MustNewConstMetric(workersDesc, prometheus.GaugeValue, float64(s.Workers))
	ch <- prometheus.MustNewConstMetric(dbDesc, prometheus.GaugeValue, float64(s.DatabaseBytes))
	ch <- prometheus.MustNewConstMetric(sbSessDesc, prometheus.GaugeValue, float64(s.Sandbox.Sessions))
	ch <- prometheus.MustNewConstMetric(sbProcDesc, prometheus.GaugeValue, float64(s.Sandbox.Interpreters))
	ch <- prometheus.MustNewConstMetric(sbMemDesc, prometheus.GaugeValue, float64(s.Sandbox.MemoryBytes))
}
