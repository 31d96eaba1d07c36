package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A pool of direct buffers in power-of-two size classes with a byte budget.
 * {@link #acquire} blocks while the buffers handed out would exceed the budget,
 * so the memory used for request and reply data stays bounded whatever clients
 * send. Idle buffers are kept for reuse up to a quarter of the budget.
 */
public final class BufferPool {

	private static final int MIN_SHIFT = 12;

	private static final int UNIT = 1 << MIN_SHIFT;

	private final int maxBufferSize;

	private final Semaphore budget;

	private final long idleLimit;

	private final AtomicLong idleBytes = new AtomicLong();

	private final Queue<ByteBuffer>[] classes;

	/**
	 * Creates a pool.
	 * @param budgetBytes the most bytes handed out at once
	 * @param maxBufferSize the largest buffer that can be requested, a power of two
	 * no larger than the budget
	 */
	@SuppressWarnings("unchecked")
	public BufferPool(long budgetBytes, int maxBufferSize) {
		if (Integer.bitCount(maxBufferSize) != 1 || maxBufferSize < UNIT) {
			throw new IllegalArgumentException("maxBufferSize must be a power of two of at least " + UNIT);
		}
		if (budgetBytes < maxBufferSize) {
			throw new IllegalArgumentException("budget must hold at least one buffer of " + maxBufferSize + " bytes");
		}
		this.maxBufferSize = maxBufferSize;
		this.budget = new Semaphore((int) Math.min(Integer.MAX_VALUE, budgetBytes / UNIT));
		this.idleLimit = budgetBytes / 4;
		int count = Integer.numberOfTrailingZeros(maxBufferSize) - MIN_SHIFT + 1;
		this.classes = new Queue[count];
		for (int i = 0; i < count; i++) {
			this.classes[i] = new ConcurrentLinkedQueue<>();
		}
	}

	/**
	 * Returns a buffer with position 0 and limit {@code length}, waiting for budget
	 * if needed. It must be given back with {@link #release}.
	 */
	public ByteBuffer acquire(int length) throws InterruptedException {
		if (length < 0 || length > this.maxBufferSize) {
			throw new IllegalArgumentException("Buffer length " + length + " outside [0, " + this.maxBufferSize + "]");
		}
		int index = classIndex(length);
		int capacity = UNIT << index;
		this.budget.acquire(capacity / UNIT);
		ByteBuffer buffer = this.classes[index].poll();
		if (buffer != null) {
			this.idleBytes.addAndGet(-capacity);
		}
		else {
			try {
				buffer = ByteBuffer.allocateDirect(capacity);
			}
			catch (OutOfMemoryError ex) {
				// Out of direct memory: a heap buffer still works, only slower.
				buffer = ByteBuffer.allocate(capacity);
			}
		}
		return buffer.clear().limit(length);
	}

	/**
	 * Gives a buffer obtained from {@link #acquire} back to the pool.
	 */
	public void release(ByteBuffer buffer) {
		int capacity = buffer.capacity();
		int index = classIndex(capacity);
		if (buffer.isDirect() && this.idleBytes.addAndGet(capacity) <= this.idleLimit) {
			this.classes[index].offer(buffer);
		}
		else if (buffer.isDirect()) {
			this.idleBytes.addAndGet(-capacity);
		}
		this.budget.release(capacity / UNIT);
	}

	/** Bytes currently available to {@link #acquire} without waiting. */
	public long availableBytes() {
		return (long) this.budget.availablePermits() * UNIT;
	}

	private static int classIndex(int length) {
		if (length <= UNIT) {
			return 0;
		}
		return 32 - Integer.numberOfLeadingZeros(length - 1) - MIN_SHIFT;
	}

}
