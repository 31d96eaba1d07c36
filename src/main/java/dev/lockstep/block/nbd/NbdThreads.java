package dev.lockstep.block.nbd;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The one place where NBD threads are made. Platform daemon threads on Java 17; on Java
 * 21 or later this could return {@code Thread.ofVirtual().factory()}.
 *
 * <p>
 * Threads that do I/O on an image's {@code FileChannel} must never be interrupted: an
 * interrupt closes the channel (and drops the image lock). The server therefore never
 * interrupts its threads; it closes sockets instead.
 */
public final class NbdThreads {

	private NbdThreads() {
	}

	public static ThreadFactory factory(String prefix) {
		AtomicInteger counter = new AtomicInteger();
		return (runnable) -> {
			Thread thread = new Thread(runnable, prefix + "-" + counter.incrementAndGet());
			thread.setDaemon(true);
			return thread;
		};
	}

}
