package dev.lockstep.block.nbd;

import java.nio.ByteBuffer;
import java.util.Deque;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A pool of direct buffers in power-of-two size classes with a byte budget.
 * {@link #acquire} blocks while the buffers handed out would exceed the budget, so the
 * memory used for request and reply data stays bounded whatever clients send; a caller
 * that reads a request's data only once it has its buffer thereby stops reading its
 * socket, which pushes back on the client. Waiting is first come, first served, so a
 * buffer of the largest size is always handed out once the buffers before it are given
 * back, however many smaller ones are asked for meanwhile. Idle buffers are kept for
 * reuse up to a quarter of the budget, and the one given back last is handed out first:
 * it is the likeliest to be still in the processor's cache, which the copies into and out
 * of it then hit.
 */
public final class BufferPool {

	private static final int MIN_SHIFT = 12;

	private static final int UNIT = 1 << MIN_SHIFT;

	/** Buffers up to this size may use the small reserve. */
	private static final int SMALL = 1024 * 1024;

	private final int maxBufferSize;

	/** The budget less the small reserve, in units. */
	private final int mainUnits;

	private final Semaphore budget;

	/**
	 * A share of the budget that only small buffers may use, so that clients doing small
	 * I/O keep going while others hold large buffers (for example 64 MiB reads whose
	 * replies their client does not read). A buffer larger than the rest of the budget
	 * takes what it lacks from here too, so that it can always be handed out.
	 */
	private final Semaphore smallReserve;

	/**
	 * Units taken from the small reserve and not put back yet. Every buffer given back
	 * repays them first, so that the reserve and the main budget each return exactly to
	 * their share, whichever buffers took from which.
	 */
	private final AtomicInteger reserveOwed = new AtomicInteger();

	private final long idleLimit;

	private final AtomicLong idleBytes = new AtomicLong();

	private final AtomicLong outstandingBytes = new AtomicLong();

	private final AtomicLong peakOutstandingBytes = new AtomicLong();

	private final Deque<ByteBuffer>[] classes;

	/**
	 * Creates a pool.
	 * @param budgetBytes the most bytes handed out at once
	 * @param maxBufferSize the largest buffer that can be requested, a power of two no
	 * larger than the budget
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
		int units = (int) Math.min(Integer.MAX_VALUE, budgetBytes / UNIT);
		int smallReserveUnits = Math.min(Math.max(SMALL / UNIT, units / 8), units / 2);
		this.mainUnits = units - smallReserveUnits;
		this.smallReserve = new Semaphore(smallReserveUnits, true);
		this.budget = new Semaphore(this.mainUnits, true);
		this.idleLimit = budgetBytes / 4;
		int count = Integer.numberOfTrailingZeros(maxBufferSize) - MIN_SHIFT + 1;
		this.classes = new Deque[count];
		for (int i = 0; i < count; i++) {
			this.classes[i] = new ConcurrentLinkedDeque<>();
		}
	}

	/**
	 * Returns a buffer with position 0 and limit {@code length}, waiting for budget if
	 * needed. It must be given back with {@link #release}.
	 */
	public ByteBuffer acquire(int length) throws InterruptedException {
		if (length < 0 || length > this.maxBufferSize) {
			throw new IllegalArgumentException("Buffer length " + length + " outside [0, " + this.maxBufferSize + "]");
		}
		int index = classIndex(length);
		int capacity = UNIT << index;
		take(capacity / UNIT, capacity <= SMALL);
		long outstanding = this.outstandingBytes.addAndGet(capacity);
		this.peakOutstandingBytes.accumulateAndGet(outstanding, Math::max);
		ByteBuffer buffer = this.classes[index].pollFirst();
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
	 * Takes permits: a small buffer from the reserve if it can without waiting and
	 * without overtaking a waiting large one, otherwise from the main budget, and what
	 * the main budget cannot ever hold from the reserve. Main before reserve, always, so
	 * two waiters never hold what the other waits for.
	 */
	private void take(int units, boolean small) throws InterruptedException {
		if (small && this.smallReserve.tryAcquire(units, 0, TimeUnit.NANOSECONDS)) {
			this.reserveOwed.addAndGet(units);
			return;
		}
		int fromMain = Math.min(units, this.mainUnits);
		this.budget.acquire(fromMain);
		if (units > fromMain) {
			try {
				this.smallReserve.acquire(units - fromMain);
				this.reserveOwed.addAndGet(units - fromMain);
			}
			catch (InterruptedException ex) {
				giveBack(fromMain);
				throw ex;
			}
		}
	}

	/**
	 * Gives a buffer obtained from {@link #acquire} back to the pool.
	 */
	public void release(ByteBuffer buffer) {
		int capacity = buffer.capacity();
		int index = classIndex(capacity);
		if (buffer.isDirect() && this.idleBytes.addAndGet(capacity) <= this.idleLimit) {
			this.classes[index].offerFirst(buffer);
		}
		else if (buffer.isDirect()) {
			this.idleBytes.addAndGet(-capacity);
		}
		this.outstandingBytes.addAndGet(-capacity);
		giveBack(capacity / UNIT);
	}

	/**
	 * Returns permits, repaying the small reserve first. The two semaphores together
	 * always hold the whole budget less what is handed out, so memory stays bounded
	 * whichever one a permit lands in, and once everything is given back each holds
	 * exactly its share again.
	 */
	private void giveBack(int units) {
		int owed = this.reserveOwed.getAndUpdate((current) -> current - Math.min(units, current));
		int toReserve = Math.min(units, owed);
		if (toReserve > 0) {
			this.smallReserve.release(toReserve);
		}
		if (units > toReserve) {
			this.budget.release(units - toReserve);
		}
	}

	/** Bytes currently available to {@link #acquire} without waiting. */
	public long availableBytes() {
		return (long) (this.budget.availablePermits() + this.smallReserve.availablePermits()) * UNIT;
	}

	/** Bytes handed out and not given back yet. */
	long outstandingBytes() {
		return this.outstandingBytes.get();
	}

	/** The most bytes ever handed out at once. */
	long peakOutstandingBytes() {
		return this.peakOutstandingBytes.get();
	}

	private static int classIndex(int length) {
		if (length <= UNIT) {
			return 0;
		}
		return 32 - Integer.numberOfLeadingZeros(length - 1) - MIN_SHIFT;
	}

}
