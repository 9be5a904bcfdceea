//! Package inventories: which files of an image name installed packages, and their parsers.
