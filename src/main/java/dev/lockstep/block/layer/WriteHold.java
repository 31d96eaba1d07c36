package dev.lockstep.block.layer;

/**
 * Holds a device's new writes back while the workload is paused, and lets reads go on.
 * {@link #hold()} waits for the writes in flight to finish; writes that arrive while held
 * wait, and on {@link #release()} enter one after another in the order they arrived,
 * ahead of any write that arrives later.
 * <p>
 * A held write waits without reacting to interruption: a release always follows a hold,
 * at the latest when the coordinator's watchdog resumes the workload.
 */
public final class WriteHold {

	private enum State {

		/** Writes enter at once. */
		OPEN,

		/**
		 * New writes wait; {@link #hold()} returns once the writes in flight are done.
		 */
		HOLDING

	}

	private final Object monitor = new Object();

	/** Guarded by monitor. */
	private State state = State.OPEN;

	/** Guarded by monitor: writes that entered and have not left. */
	private int inFlight;

	/** Guarded by monitor: the next ticket to hand to a waiting write. */
	private long issued;

	/** Guarded by monitor: the ticket of the next waiting write to enter. */
	private long admitted;

	/** Guarded by monitor: how many writes have entered. */
	private long entered;

	/**
	 * Enters one write; waits while held, and behind every write that was held before it.
	 * Must be paired with {@link #leave()}.
	 * @return the write's place in the order in which writes entered
	 */
	public long enter() {
		synchronized (this.monitor) {
			if (this.state == State.OPEN && this.admitted == this.issued) {
				this.inFlight++;
				return this.entered++;
			}
			long ticket = this.issued++;
			boolean interrupted = false;
			while (this.state == State.HOLDING || this.admitted != ticket) {
				try {
					this.monitor.wait();
				}
				catch (InterruptedException ex) {
					interrupted = true;
				}
			}
			this.admitted++;
			this.inFlight++;
			this.monitor.notifyAll();
			if (interrupted) {
				Thread.currentThread().interrupt();
			}
			return this.entered++;
		}
	}

	/** Leaves a write entered with {@link #enter()}. */
	public void leave() {
		synchronized (this.monitor) {
			this.inFlight--;
			if (this.inFlight == 0) {
				this.monitor.notifyAll();
			}
		}
	}

	/**
	 * Holds new writes back and waits until the writes in flight have finished. If
	 * interrupted while waiting, writes are let through again.
	 * @throws InterruptedException if interrupted while writes were still in flight
	 */
	public void hold() throws InterruptedException {
		synchronized (this.monitor) {
			this.state = State.HOLDING;
			try {
				while (this.inFlight > 0) {
					this.monitor.wait();
				}
			}
			catch (InterruptedException ex) {
				release();
				throw ex;
			}
		}
	}

	/** Lets the held writes enter, in the order they arrived. Harmless when not held. */
	public void release() {
		synchronized (this.monitor) {
			this.state = State.OPEN;
			this.monitor.notifyAll();
		}
	}

	/** Returns whether new writes are held back. */
	public boolean holding() {
		synchronized (this.monitor) {
			return this.state == State.HOLDING;
		}
	}

	/** Returns how many writes wait to enter. */
	public long waiting() {
		synchronized (this.monitor) {
			return this.issued - this.admitted;
		}
	}

}
