package dev.lockstep.block.replicated.primary;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.locks.Lock;

import org.jspecify.annotations.Nullable;

import org.springframework.util.Assert;

import dev.lockstep.block.BlockDevice;
import dev.lockstep.block.replicated.protocol.ChunkHashing;

import static dev.lockstep.block.replicated.protocol.PeerProtocol.CHUNK_SIZE;

/**
 * One chunk of the primary's disk at a time, as a worker of a {@link ChunkWalk} sees it:
 * hashed for a comparison with the secondary's hash, and copied to the secondary as a
 * synchronisation copies it. A chunk that reads as zeroes is neither read nor sent: it is
 * compared with the hash of zeroes and sent as a write-zeroes. The caller holds the
 * chunk's {@link #lock()} from its first use to its last. Not thread-safe; each worker
 * has its own.
 */
final class LocalChunk {

	private enum State {

		/** Nothing known of the chunk yet. */
		UNREAD,

		/** The allocation map says the chunk reads as zeroes; it was not read. */
		ZEROES,

		/** The chunk's data is in the buffer. */
		READ

	}

	private final PrimaryDevice primary;

	private final BlockDevice local;

	private final ByteBuffer buffer = ByteBuffer.allocateDirect(CHUNK_SIZE);

	private final MessageDigest digest = ChunkHashing.sha256();

	private long index = -1;

	private int length;

	private State state = State.UNREAD;

	private byte @Nullable [] hash;

	LocalChunk(PrimaryDevice primary) {
		this.primary = primary;
		this.local = primary.local();
	}

	/** Moves to chunk {@code index}; nothing of it is read yet. */
	void at(long index) {
		this.index = index;
		this.length = (int) Math.min(CHUNK_SIZE, this.local.size() - offset());
		this.state = State.UNREAD;
		this.hash = null;
	}

	long index() {
		return this.index;
	}

	long offset() {
		return this.index * CHUNK_SIZE;
	}

	int length() {
		return this.length;
	}

	/**
	 * The chunk's exclusive lock: while it is held no write to the chunk is in flight,
	 * provided the device takes chunk locks ({@link PrimaryDevice#syncing(boolean)}).
	 */
	Lock lock() {
		return this.primary.syncLock(this.index);
	}

	/** Returns the SHA-256 of the chunk as it is now, reading it if it holds data. */
	byte[] hash() throws IOException {
		byte[] known = this.hash;
		if (known != null) {
			return known;
		}
		byte[] computed;
		if (this.state == State.UNREAD && ChunkHashing.readsAsZero(this.local, offset(), this.length)) {
			this.state = State.ZEROES;
			computed = ChunkHashing.zeroHash(this.length);
		}
		else {
			read();
			computed = ChunkHashing.hash(this.buffer, this.digest);
		}
		this.hash = computed;
		return computed;
	}

	/** Returns whether the chunk's hash is {@code remoteHash}. */
	boolean matches(byte[] remoteHash) throws IOException {
		return Arrays.equals(hash(), remoteHash);
	}

	/**
	 * Writes the chunk to the secondary and waits for its reply: as write-zeroes if it
	 * reads as zeroes, else its data (read now if it was not yet).
	 */
	void copyToSecondary() throws IOException {
		RemoteDisk remote = this.primary.remote();
		if (this.state == State.ZEROES) {
			remote.await(remote.writeZeroes(offset(), this.length, true, false), this.primary.forwardTimeout());
			return;
		}
		read();
		remote.await(remote.write(offset(), this.buffer.duplicate(), false), this.primary.forwardTimeout());
	}

	private void read() throws IOException {
		Assert.state(this.index >= 0, "A chunk is chosen before it is read");
		if (this.state == State.READ) {
			return;
		}
		this.buffer.clear().limit(this.length);
		this.local.read(offset(), this.buffer);
		this.buffer.flip();
		this.state = State.READ;
	}

}
