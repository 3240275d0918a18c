#!/usr/bin/python3
"""An independent reader of TensorBoard event files, for stitch's tests.

It shares no code with stitch: the TFRecord framing and CRC-32C are written here from their
specification, and the Event/Summary messages are described to python3-protobuf from the
published field numbers of TensorFlow's event.proto and summary.proto (not from stitch's .proto).

    read_tfevents.py FILE   prints one JSON line per scalar: {"step", "wall_time", "tag", "value"}
Exits non-zero, naming the byte offset, on a bad CRC or an unparsable record; a torn last record
(a writer killed mid-write) ends the file, as TensorBoard treats it.
"""
import json
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def event_class():
    f = descriptor_pb2.FileDescriptorProto(name="independent_event.proto", package="indep", syntax="proto3")
    T = descriptor_pb2.FieldDescriptorProto
    summary = f.message_type.add(name="Summary")
    value = summary.nested_type.add(name="Value")
    value.field.add(name="tag", number=1, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    value.field.add(name="simple_value", number=2, type=T.TYPE_FLOAT, label=T.LABEL_OPTIONAL)
    summary.field.add(name="value", number=1, type=T.TYPE_MESSAGE, label=T.LABEL_REPEATED,
                      type_name=".indep.Summary.Value")
    event = f.message_type.add(name="Event")
    event.field.add(name="wall_time", number=1, type=T.TYPE_DOUBLE, label=T.LABEL_OPTIONAL)
    event.field.add(name="step", number=2, type=T.TYPE_INT64, label=T.LABEL_OPTIONAL)
    event.field.add(name="file_version", number=3, type=T.TYPE_STRING, label=T.LABEL_OPTIONAL)
    event.field.add(name="summary", number=5, type=T.TYPE_MESSAGE, label=T.LABEL_OPTIONAL,
                    type_name=".indep.Summary")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.MessageFactory(pool).GetPrototype(pool.FindMessageTypeByName("indep.Event"))


def main(path: str) -> int:
    Event = event_class()
    data = open(path, "rb").read()
    at, first = 0, True
    while at < len(data):
        if len(data) - at < 12:
            break
        (length,) = struct.unpack_from("<Q", data, at)
        (length_crc,) = struct.unpack_from("<I", data, at + 8)
        if masked(data[at:at + 8]) != length_crc:
            print(f"{path}: bad length CRC at byte {at}", file=sys.stderr)
            return 1
        if len(data) - at - 12 < length + 4:
            break
        payload = data[at + 12:at + 12 + length]
        (data_crc,) = struct.unpack_from("<I", data, at + 12 + length)
        if masked(payload) != data_crc:
            print(f"{path}: bad data CRC at byte {at}", file=sys.stderr)
            return 1
        event = Event()
        event.ParseFromString(payload)
        if first and event.file_version != "brain.Event:2":
            print(f"{path}: first event has file_version {event.file_version!r}", file=sys.stderr)
            return 1
        first = False
        for v in event.summary.value:
            print(json.dumps({"step": event.step, "wall_time": event.wall_time, "tag": v.tag,
                              "value": v.simple_value}))
        at += 12 + length + 4
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
