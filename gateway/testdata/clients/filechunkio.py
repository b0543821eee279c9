# A stand-in for the filechunkio package (PyPI only, not in Debian): a
# read-only file object over bytes [offset, offset+bytes) of a file.
import io, os


class FileChunkIO(io.FileIO):
    def __init__(self, name, mode='r', closefd=True, offset=0, bytes=None):
        super().__init__(name, mode, closefd)
        size = os.fstat(self.fileno()).st_size
        self._offset = offset
        self._bytes = size - offset if bytes is None else min(bytes, size - offset)
        self.seek(0)

    def seek(self, pos, whence=0):
        if whence == 1:
            pos += self.tell()
        elif whence == 2:
            pos += self._bytes
        return super().seek(self._offset + max(0, min(pos, self._bytes))) - self._offset

    def tell(self):
        return super().tell() - self._offset

    def read(self, n=-1):
        left = self._bytes - self.tell()
        if n < 0 or n > left:
            n = left
        return super().read(n)

    def readall(self):
        return self.read()
