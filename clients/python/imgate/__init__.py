"""imgate: the asyncio Python client of the imgate IM server.

    import asyncio, imgate

    async def main():
        async with imgate.Client("127.0.0.1", 7700, "alice", token="") as client:
            ack = await client.send("bob", "hello")
            async for message in client:      # acknowledged when the loop asks for the next
                print(message.from_uid, message.text)

See docs/clients-python.md. Needs the generated module ``imgate_pb2``
(protoc --python_out of proto/imgate/v1/imgate.proto): inside this package
when installed (python3-imgate), else on the import path (the build tree),
and python3-protobuf and python3-websockets.
"""
from .client import ACKED_MEMORY, CLIENT_VERSION, Client
from .errors import FrameError, ImgateError, KickedError
from .frame import Cmd, KickReason, Status, cmd_name, kick_reason_name, status_name
from .message import Backoff, HistoryPage, Kick, Message, SendAck, Session

__all__ = [
    "Client", "ImgateError", "KickedError", "FrameError", "Message", "SendAck", "Session", "Kick",
    "HistoryPage", "Backoff", "Cmd", "Status", "KickReason", "status_name", "cmd_name", "kick_reason_name",
    "CLIENT_VERSION", "ACKED_MEMORY",
]
__version__ = "0.1.0"
