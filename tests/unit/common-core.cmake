# Unit tests of libdevattest's encodings, digests, JSON, JCS, DSSE and in-toto.
