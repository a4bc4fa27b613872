from robohead.protocol.v1 import device_pb2 as _device_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Mode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MODE_UNSPECIFIED: _ClassVar[Mode]
    MODE_AUTO: _ClassVar[Mode]
    MODE_MANUAL: _ClassVar[Mode]
    MODE_NEUTRAL: _ClassVar[Mode]

class CalibrationPhase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALIBRATION_PHASE_UNSPECIFIED: _ClassVar[CalibrationPhase]
    CALIBRATION_PHASE_REST: _ClassVar[CalibrationPhase]
    CALIBRATION_PHASE_MAX: _ClassVar[CalibrationPhase]
MODE_UNSPECIFIED: Mode
MODE_AUTO: Mode
MODE_MANUAL: Mode
MODE_NEUTRAL: Mode
CALIBRATION_PHASE_UNSPECIFIED: CalibrationPhase
CALIBRATION_PHASE_REST: CalibrationPhase
CALIBRATION_PHASE_MAX: CalibrationPhase

class Status(_message.Message):
    __slots__ = ("state", "device_id", "detail", "timestamp_ms")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        STATE_UNSPECIFIED: _ClassVar[Status.State]
        STATE_ONLINE: _ClassVar[Status.State]
        STATE_DEGRADED: _ClassVar[Status.State]
        STATE_OFFLINE: _ClassVar[Status.State]
    STATE_UNSPECIFIED: Status.State
    STATE_ONLINE: Status.State
    STATE_DEGRADED: Status.State
    STATE_OFFLINE: Status.State
    STATE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    state: Status.State
    device_id: str
    detail: str
    timestamp_ms: int
    def __init__(self, state: _Optional[_Union[Status.State, str]] = ..., device_id: _Optional[str] = ..., detail: _Optional[str] = ..., timestamp_ms: _Optional[int] = ...) -> None: ...

class Meta(_message.Message):
    __slots__ = ("device_id", "edge_version", "schema_hash", "device", "channel_names", "motor_names", "model_name", "model_version", "mlflow_run_id", "bundle_sha256", "dataset_md5", "mode", "timestamp_ms")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    EDGE_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_HASH_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_NAMES_FIELD_NUMBER: _ClassVar[int]
    MOTOR_NAMES_FIELD_NUMBER: _ClassVar[int]
    MODEL_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_VERSION_FIELD_NUMBER: _ClassVar[int]
    MLFLOW_RUN_ID_FIELD_NUMBER: _ClassVar[int]
    BUNDLE_SHA256_FIELD_NUMBER: _ClassVar[int]
    DATASET_MD5_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    edge_version: str
    schema_hash: int
    device: _device_pb2.Hello
    channel_names: _containers.RepeatedScalarFieldContainer[str]
    motor_names: _containers.RepeatedScalarFieldContainer[str]
    model_name: str
    model_version: str
    mlflow_run_id: str
    bundle_sha256: str
    dataset_md5: str
    mode: Mode
    timestamp_ms: int
    def __init__(self, device_id: _Optional[str] = ..., edge_version: _Optional[str] = ..., schema_hash: _Optional[int] = ..., device: _Optional[_Union[_device_pb2.Hello, _Mapping]] = ..., channel_names: _Optional[_Iterable[str]] = ..., motor_names: _Optional[_Iterable[str]] = ..., model_name: _Optional[str] = ..., model_version: _Optional[str] = ..., mlflow_run_id: _Optional[str] = ..., bundle_sha256: _Optional[str] = ..., dataset_md5: _Optional[str] = ..., mode: _Optional[_Union[Mode, str]] = ..., timestamp_ms: _Optional[int] = ...) -> None: ...

class StageTimings(_message.Message):
    __slots__ = ("dsp_ms", "inference_ms", "postprocess_ms", "total_ms")
    DSP_MS_FIELD_NUMBER: _ClassVar[int]
    INFERENCE_MS_FIELD_NUMBER: _ClassVar[int]
    POSTPROCESS_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    dsp_ms: float
    inference_ms: float
    postprocess_ms: float
    total_ms: float
    def __init__(self, dsp_ms: _Optional[float] = ..., inference_ms: _Optional[float] = ..., postprocess_ms: _Optional[float] = ..., total_ms: _Optional[float] = ...) -> None: ...

class Telemetry(_message.Message):
    __slots__ = ("timestamp_ms", "device_time_us", "emg_level", "audio_level", "predicted", "commanded", "measured_us", "mode", "timings", "expression", "expression_confidence", "failsafe")
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    EMG_LEVEL_FIELD_NUMBER: _ClassVar[int]
    AUDIO_LEVEL_FIELD_NUMBER: _ClassVar[int]
    PREDICTED_FIELD_NUMBER: _ClassVar[int]
    COMMANDED_FIELD_NUMBER: _ClassVar[int]
    MEASURED_US_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    FAILSAFE_FIELD_NUMBER: _ClassVar[int]
    timestamp_ms: int
    device_time_us: int
    emg_level: _containers.RepeatedScalarFieldContainer[float]
    audio_level: float
    predicted: _containers.RepeatedScalarFieldContainer[float]
    commanded: _containers.RepeatedScalarFieldContainer[float]
    measured_us: _containers.RepeatedScalarFieldContainer[int]
    mode: Mode
    timings: StageTimings
    expression: str
    expression_confidence: float
    failsafe: _device_pb2.FailsafeState
    def __init__(self, timestamp_ms: _Optional[int] = ..., device_time_us: _Optional[int] = ..., emg_level: _Optional[_Iterable[float]] = ..., audio_level: _Optional[float] = ..., predicted: _Optional[_Iterable[float]] = ..., commanded: _Optional[_Iterable[float]] = ..., measured_us: _Optional[_Iterable[int]] = ..., mode: _Optional[_Union[Mode, str]] = ..., timings: _Optional[_Union[StageTimings, _Mapping]] = ..., expression: _Optional[str] = ..., expression_confidence: _Optional[float] = ..., failsafe: _Optional[_Union[_device_pb2.FailsafeState, str]] = ...) -> None: ...

class LatencyStats(_message.Message):
    __slots__ = ("p50_ms", "p99_ms", "max_ms")
    P50_MS_FIELD_NUMBER: _ClassVar[int]
    P99_MS_FIELD_NUMBER: _ClassVar[int]
    MAX_MS_FIELD_NUMBER: _ClassVar[int]
    p50_ms: float
    p99_ms: float
    max_ms: float
    def __init__(self, p50_ms: _Optional[float] = ..., p99_ms: _Optional[float] = ..., max_ms: _Optional[float] = ...) -> None: ...

class Metrics(_message.Message):
    __slots__ = ("timestamp_ms", "frames_per_second", "stage_latency", "frames", "sequence_gaps", "dropped_samples", "cobs_errors", "crc_errors", "length_errors", "decode_errors", "commands_sent", "commands_rejected", "mqtt_dropped", "reconnects", "device")
    class StageLatencyEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: LatencyStats
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[LatencyStats, _Mapping]] = ...) -> None: ...
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    STAGE_LATENCY_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_GAPS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    COBS_ERRORS_FIELD_NUMBER: _ClassVar[int]
    CRC_ERRORS_FIELD_NUMBER: _ClassVar[int]
    LENGTH_ERRORS_FIELD_NUMBER: _ClassVar[int]
    DECODE_ERRORS_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_SENT_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_REJECTED_FIELD_NUMBER: _ClassVar[int]
    MQTT_DROPPED_FIELD_NUMBER: _ClassVar[int]
    RECONNECTS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    timestamp_ms: int
    frames_per_second: float
    stage_latency: _containers.MessageMap[str, LatencyStats]
    frames: int
    sequence_gaps: int
    dropped_samples: int
    cobs_errors: int
    crc_errors: int
    length_errors: int
    decode_errors: int
    commands_sent: int
    commands_rejected: int
    mqtt_dropped: int
    reconnects: int
    device: _device_pb2.DeviceCounters
    def __init__(self, timestamp_ms: _Optional[int] = ..., frames_per_second: _Optional[float] = ..., stage_latency: _Optional[_Mapping[str, LatencyStats]] = ..., frames: _Optional[int] = ..., sequence_gaps: _Optional[int] = ..., dropped_samples: _Optional[int] = ..., cobs_errors: _Optional[int] = ..., crc_errors: _Optional[int] = ..., length_errors: _Optional[int] = ..., decode_errors: _Optional[int] = ..., commands_sent: _Optional[int] = ..., commands_rejected: _Optional[int] = ..., mqtt_dropped: _Optional[int] = ..., reconnects: _Optional[int] = ..., device: _Optional[_Union[_device_pb2.DeviceCounters, _Mapping]] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ("timestamp_ms", "level", "kind", "message", "details")
    class Level(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LEVEL_UNSPECIFIED: _ClassVar[Event.Level]
        LEVEL_INFO: _ClassVar[Event.Level]
        LEVEL_WARNING: _ClassVar[Event.Level]
        LEVEL_ERROR: _ClassVar[Event.Level]
    LEVEL_UNSPECIFIED: Event.Level
    LEVEL_INFO: Event.Level
    LEVEL_WARNING: Event.Level
    LEVEL_ERROR: Event.Level
    class DetailsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TIMESTAMP_MS_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    timestamp_ms: int
    level: Event.Level
    kind: str
    message: str
    details: _containers.ScalarMap[str, str]
    def __init__(self, timestamp_ms: _Optional[int] = ..., level: _Optional[_Union[Event.Level, str]] = ..., kind: _Optional[str] = ..., message: _Optional[str] = ..., details: _Optional[_Mapping[str, str]] = ...) -> None: ...

class SetMode(_message.Message):
    __slots__ = ("mode",)
    MODE_FIELD_NUMBER: _ClassVar[int]
    mode: Mode
    def __init__(self, mode: _Optional[_Union[Mode, str]] = ...) -> None: ...

class SetPose(_message.Message):
    __slots__ = ("targets", "expression")
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    EXPRESSION_FIELD_NUMBER: _ClassVar[int]
    targets: _containers.RepeatedScalarFieldContainer[float]
    expression: str
    def __init__(self, targets: _Optional[_Iterable[float]] = ..., expression: _Optional[str] = ...) -> None: ...

class ReloadModel(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StartCalibration(_message.Message):
    __slots__ = ("phase", "duration_s")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    DURATION_S_FIELD_NUMBER: _ClassVar[int]
    phase: CalibrationPhase
    duration_s: float
    def __init__(self, phase: _Optional[_Union[CalibrationPhase, str]] = ..., duration_s: _Optional[float] = ...) -> None: ...

class StopCalibration(_message.Message):
    __slots__ = ("save",)
    SAVE_FIELD_NUMBER: _ClassVar[int]
    save: bool
    def __init__(self, save: _Optional[bool] = ...) -> None: ...

class StartRawStream(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StopRawStream(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Command(_message.Message):
    __slots__ = ("request_id", "set_mode", "set_pose", "reload_model", "start_calibration", "stop_calibration", "start_raw_stream", "stop_raw_stream")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SET_MODE_FIELD_NUMBER: _ClassVar[int]
    SET_POSE_FIELD_NUMBER: _ClassVar[int]
    RELOAD_MODEL_FIELD_NUMBER: _ClassVar[int]
    START_CALIBRATION_FIELD_NUMBER: _ClassVar[int]
    STOP_CALIBRATION_FIELD_NUMBER: _ClassVar[int]
    START_RAW_STREAM_FIELD_NUMBER: _ClassVar[int]
    STOP_RAW_STREAM_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    set_mode: SetMode
    set_pose: SetPose
    reload_model: ReloadModel
    start_calibration: StartCalibration
    stop_calibration: StopCalibration
    start_raw_stream: StartRawStream
    stop_raw_stream: StopRawStream
    def __init__(self, request_id: _Optional[str] = ..., set_mode: _Optional[_Union[SetMode, _Mapping]] = ..., set_pose: _Optional[_Union[SetPose, _Mapping]] = ..., reload_model: _Optional[_Union[ReloadModel, _Mapping]] = ..., start_calibration: _Optional[_Union[StartCalibration, _Mapping]] = ..., stop_calibration: _Optional[_Union[StopCalibration, _Mapping]] = ..., start_raw_stream: _Optional[_Union[StartRawStream, _Mapping]] = ..., stop_raw_stream: _Optional[_Union[StopRawStream, _Mapping]] = ...) -> None: ...

class CommandReply(_message.Message):
    __slots__ = ("request_id", "ok", "error", "detail")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    ok: bool
    error: str
    detail: str
    def __init__(self, request_id: _Optional[str] = ..., ok: _Optional[bool] = ..., error: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class RawEmgChunk(_message.Message):
    __slots__ = ("device_id", "sequence", "device_time_us", "channel_count", "sampling_rate_hz", "samples")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    sequence: int
    device_time_us: int
    channel_count: int
    sampling_rate_hz: int
    samples: bytes
    def __init__(self, device_id: _Optional[str] = ..., sequence: _Optional[int] = ..., device_time_us: _Optional[int] = ..., channel_count: _Optional[int] = ..., sampling_rate_hz: _Optional[int] = ..., samples: _Optional[bytes] = ...) -> None: ...
