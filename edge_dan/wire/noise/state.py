"""CipherState and SymmetricState of the Noise spec (sections 5.1 and 5.2)."""

from __future__ import annotations

from edge_dan.wire.errors import DecryptError, MessageTooLarge, NonceExhausted
from edge_dan.wire.noise import crypto

MAX_MESSAGE_LEN = 65535


class CipherState:
    """A key and a message counter for one direction of a session.

    Unlike the spec's CipherState this one always holds a key: a keyless state would pass plaintext
    through, which only the handshake wants, so ``SymmetricState`` handles that case itself.
    """

    __slots__ = ("_key", "_nonce")

    def __init__(self, key: bytes, nonce: int = 0) -> None:
        if len(key) != crypto.KEYLEN:
            raise ValueError(f"a ChaChaPoly key is {crypto.KEYLEN} bytes, got {len(key)}")
        if not 0 <= nonce <= crypto.MAX_NONCE:
            raise ValueError(f"nonce {nonce} is outside 0..2^64-1")
        self._key = key
        self._nonce = nonce

    @property
    def nonce(self) -> int:
        """The nonce the next ``encrypt`` or ``decrypt`` will use (= messages processed so far)."""
        return self._nonce

    def _use_nonce(self) -> int:
        # 2^64-1 is reserved for rekey (spec 5.1), so the last usable nonce is 2^64-2.
        if self._nonce >= crypto.MAX_NONCE:
            raise NonceExhausted(
                "this cipher state has used every nonce (2^64-1 messages); run a new handshake"
            )
        return self._nonce

    def encrypt(self, plaintext: bytes, ad: bytes = b"") -> bytes:
        if len(plaintext) + crypto.TAGLEN > MAX_MESSAGE_LEN:
            raise MessageTooLarge(
                f"plaintext of {len(plaintext)} bytes exceeds the Noise limit "
                f"({MAX_MESSAGE_LEN - crypto.TAGLEN} bytes plus the 16-byte tag)"
            )
        ciphertext = crypto.encrypt(self._key, self._use_nonce(), ad, plaintext)
        self._nonce += 1
        return ciphertext

    def decrypt(self, ciphertext: bytes, ad: bytes = b"") -> bytes:
        """Decrypt and authenticate; on failure the nonce stays put, so the state is unharmed."""
        if len(ciphertext) > MAX_MESSAGE_LEN:
            raise MessageTooLarge(
                f"ciphertext of {len(ciphertext)} bytes exceeds the Noise limit ({MAX_MESSAGE_LEN})"
            )
        if len(ciphertext) < crypto.TAGLEN:
            raise DecryptError(f"ciphertext of {len(ciphertext)} bytes is shorter than its tag")
        plaintext = crypto.decrypt(self._key, self._use_nonce(), ad, ciphertext)
        self._nonce += 1
        return plaintext

    def rekey(self) -> None:
        """Replace the key by a one-way function of itself (spec: "Rekey"); the nonce carries on.

        Both sides must call it at the same point of the message stream; when is the caller's
        protocol to decide.
        """
        self._key = crypto.rekey(self._key)

    def copy(self) -> CipherState:
        return CipherState(self._key, self._nonce)


class SymmetricState:
    """Chaining key, handshake hash and the handshake's (optional) cipher state."""

    __slots__ = ("_cipher", "_ck", "_h", "_hash")

    def __init__(self, protocol_name: bytes, hash_function: crypto.Hash) -> None:
        self._hash = hash_function
        if len(protocol_name) <= hash_function.hashlen:
            self._h = protocol_name.ljust(hash_function.hashlen, b"\x00")
        else:
            self._h = hash_function.digest(protocol_name)
        self._ck = self._h
        self._cipher: CipherState | None = None

    @property
    def handshake_hash(self) -> bytes:
        return self._h

    @property
    def has_key(self) -> bool:
        return self._cipher is not None

    def mix_key(self, input_key_material: bytes) -> None:
        self._ck, temp_k = self._hash.hkdf(self._ck, input_key_material, 2)
        # With a 64-byte hash the cipher key is the first 32 bytes of the HKDF output.
        self._cipher = CipherState(temp_k[: crypto.KEYLEN])

    def mix_hash(self, data: bytes) -> None:
        self._h = self._hash.digest(self._h + data)

    def mix_key_and_hash(self, input_key_material: bytes) -> None:
        self._ck, temp_h, temp_k = self._hash.hkdf(self._ck, input_key_material, 3)
        self.mix_hash(temp_h)
        self._cipher = CipherState(temp_k[: crypto.KEYLEN])

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        ciphertext = plaintext if self._cipher is None else self._cipher.encrypt(plaintext, self._h)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        plaintext = (
            ciphertext if self._cipher is None else self._cipher.decrypt(ciphertext, self._h)
        )
        self.mix_hash(ciphertext)
        return plaintext

    def split(self) -> tuple[CipherState, CipherState]:
        """The two transport cipher states: (initiator to responder, responder to initiator)."""
        temp_k1, temp_k2 = self._hash.hkdf(self._ck, b"", 2)
        return CipherState(temp_k1[: crypto.KEYLEN]), CipherState(temp_k2[: crypto.KEYLEN])

    def copy(self) -> SymmetricState:
        clone = SymmetricState.__new__(SymmetricState)
        clone._hash, clone._h, clone._ck = self._hash, self._h, self._ck
        clone._cipher = None if self._cipher is None else self._cipher.copy()
        return clone
