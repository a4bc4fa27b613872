"""Realistic edge messages for the monitor tests (what robohead-edge publishes)."""

from __future__ import annotations

from robohead.protocol.schema import SCHEMA_HASH
from robohead.protocol.v1 import device_pb2 as dev
from robohead.protocol.v1 import telemetry_pb2 as tm

DEVICE = "head-7"
CHANNELS = ["frontalis", "corrugator", "zygomaticus", "digastric"]
MOTORS = ["brows", "smile", "jaw"]


def status(
    state: int = tm.Status.STATE_ONLINE, detail: str = "running, mode MODE_AUTO"
) -> tm.Status:
    return tm.Status(state=state, device_id=DEVICE, detail=detail, timestamp_ms=1_700_000_000_000)


def meta(version: str = "4") -> tm.Meta:
    hello = dev.Hello(
        firmware_version="0.1.0",
        schema_hash=SCHEMA_HASH,
        board="sim",
        channel_count=4,
        sampling_rate_hz=1000,
        adc_bits=12,
        samples_per_frame=10,
        device_id="sim-000004d2",
        servos=[
            dev.ServoLimits(min_us=1000, max_us=2000, neutral_us=1500, max_step_us=50),
            dev.ServoLimits(min_us=1000, max_us=2000, neutral_us=1000, max_step_us=50),
            dev.ServoLimits(
                min_us=1000, max_us=2000, neutral_us=1000, inverted=True, max_step_us=50
            ),
        ],
    )
    return tm.Meta(
        device_id=DEVICE,
        edge_version="0.1.0",
        schema_hash=SCHEMA_HASH,
        device=hello,
        channel_names=CHANNELS,
        motor_names=MOTORS,
        model_name="robohead-expression",
        model_version=version,
        mlflow_run_id="0123456789abcdef0123",
        bundle_sha256="ab" * 32,
        dataset_md5="cd" * 16,
        mode=tm.MODE_AUTO,
    )


def telemetry() -> tm.Telemetry:
    return tm.Telemetry(
        timestamp_ms=1_700_000_000_100,
        device_time_us=12_340_000,
        emg_level=[0.1, 0.001, 0.01, 0.0],  # -20 dB, -60 dB, -40 dB, silent
        audio_level=-30.0,
        predicted=[0.9, 0.1, 0.5],
        commanded=[0.8, 0.1, 0.45],
        measured_us=[1750, 1100, 1600],  # jaw inverted: 0.40
        mode=tm.MODE_AUTO,
        timings=tm.StageTimings(dsp_ms=0.8, inference_ms=0.3, postprocess_ms=0.05, total_ms=1.15),
        expression="raise_brows",
        expression_confidence=0.87,
        failsafe=dev.FAILSAFE_STATE_ACTIVE,
    )


def metrics() -> tm.Metrics:
    m = tm.Metrics(
        timestamp_ms=1_700_000_000_200,
        frames_per_second=100.0,
        frames=12345,
        sequence_gaps=2,
        dropped_samples=0,
        cobs_errors=1,
        crc_errors=3,
        length_errors=0,
        decode_errors=0,
        commands_sent=6170,
        commands_rejected=1,
        mqtt_dropped=0,
        reconnects=1,
        device=dev.DeviceCounters(rx_frames=6200, failsafe_trips=2, clamped_commands=5),
    )
    m.stage_latency["dsp"].CopyFrom(tm.LatencyStats(p50_ms=0.81, p99_ms=1.9, max_ms=2.5))
    m.stage_latency["inference"].CopyFrom(tm.LatencyStats(p50_ms=0.31, p99_ms=0.7, max_ms=1.0))
    m.stage_latency["loop"].CopyFrom(tm.LatencyStats(p50_ms=11.5, p99_ms=21.25, max_ms=30.0))
    return m


def event() -> tm.Event:
    return tm.Event(
        timestamp_ms=1_700_000_000_300,
        level=tm.Event.LEVEL_ERROR,
        kind="bundle_rejected",
        message="golden vector mismatch; keeping the running model",
    )


def reply() -> tm.CommandReply:
    return tm.CommandReply(request_id="r1", ok=True, detail="mode MODE_NEUTRAL")


class Publisher:
    """A plain paho-mqtt 2.x client that publishes and waits until the broker has each message."""

    def __init__(self, host: str, port: int) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{id(self)}")
        self._host, self._port = host, port

    def __enter__(self) -> Publisher:
        self._client.connect(self._host, self._port)
        self._client.loop_start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False) -> None:
        self._client.publish(topic, payload, qos=qos, retain=retain).wait_for_publish(10)
