import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** The node's Prometheus metrics, on one registry served at /metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly rooms = this.gauge('edgemeet_media_rooms', 'Meetings on this node');
  readonly participants = this.gauge('edgemeet_media_participants', 'Participants connected to this node');
  readonly transports = this.gauge('edgemeet_media_transports', 'mediasoup transports (incl. pipe transports)', ['worker']);
  readonly producers = this.gauge('edgemeet_media_producers', 'mediasoup producers (incl. piped copies)', ['worker']);
  readonly consumers = this.gauge('edgemeet_media_consumers', 'mediasoup consumers (incl. pipe consumers)', ['worker']);
  readonly workerCpu = this.gauge('edgemeet_media_worker_cpu_ratio', 'CPU of each mediasoup worker, 0..1 of a core', ['worker']);
  readonly workersAlive = this.gauge('edgemeet_media_workers_alive', 'Live mediasoup workers');
  readonly bitrateIn = this.gauge('edgemeet_media_bitrate_in_bps', 'Bits per second received from clients');
  readonly bitrateOut = this.gauge('edgemeet_media_bitrate_out_bps', 'Bits per second sent to clients');
  readonly packetLoss = this.gauge('edgemeet_media_packet_loss_ratio', 'Receive-side packet loss over the last interval');
  readonly iceFailures = new Counter({ name: 'edgemeet_media_ice_failures_total', help: 'Transports closed after ICE stayed disconnected', registers: [this.registry] });
  readonly dtlsFailures = new Counter({ name: 'edgemeet_media_dtls_failures_total', help: 'DTLS handshakes that failed', registers: [this.registry] });
  readonly signalingErrors = new Counter({
    name: 'edgemeet_media_signaling_errors_total',
    help: 'Signaling requests answered with an error, by code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly rejectedConnections = new Counter({
    name: 'edgemeet_media_rejected_connections_total',
    help: 'Signaling connections refused, by code',
    labelNames: ['code'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: L[] = []): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
