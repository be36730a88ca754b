"""The taskpool wire protocol, version 1.

The modules in this package (``taskpool_pb2``, ``exec_pb2``) are generated
by ``protoc --python_out`` from ``proto/taskpool/v1/*.proto`` when the
package is built (by CMake or by ``pip install``); they are never kept in
the source tree. Their messages are what :meth:`taskpool.Client.status`
returns and what the built-in ``exec`` function takes and returns.
"""
