"""The file's mapped rows, and their match keys, kept on disk while the preview decides them.

Deciding needs every row twice — once for its match keys, once for its plan with the rows of its in-file
group — but never all of them at once. Held as objects, a mapped row costs several kilobytes: a 1M-row file
did not fit in 16 GB. Written here as it is read, a row costs 8 bytes of memory (its offset) until it is read
back by position. The rows' match-key sets go into a spill of their own: the base and the file are matched
a chunk of key sets at a time (dedup.within). The file is this process's own temporary file, deleted when
closed.
"""

import pickle
import tempfile
from array import array


class RowSpill:
    """A sequence of mapped rows: `append` while reading the file, then `spill[position]`."""

    def __init__(self):
        self._file = tempfile.TemporaryFile(prefix="crm-import-")
        self._offsets = array("q")
        self._writing = True

    def append(self, row):
        if not self._writing:
            raise RuntimeError("rows are appended before any is read back")
        self._offsets.append(self._file.tell())
        pickle.dump(row, self._file, protocol=pickle.HIGHEST_PROTOCOL)

    def __len__(self):
        return len(self._offsets)

    def __getitem__(self, position):
        if self._writing:
            self._file.flush()
            self._writing = False
        self._file.seek(self._offsets[position])
        return pickle.load(self._file)  # noqa: S301 — our own file, written by this process

    def close(self):
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
