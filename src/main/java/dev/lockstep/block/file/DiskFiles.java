package dev.lockstep.block.file;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;

import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.jspecify.annotations.Nullable;

/**
 * Opens the files that the disk layer does I/O on so that interrupting a thread cannot
 * close them.
 *
 * <p>
 * A plain {@link FileChannel} is an {@link java.nio.channels.InterruptibleChannel}: if a
 * thread is interrupted while it reads, writes or flushes (or calls in with its interrupt
 * status set), the channel is closed, every other thread using it fails, and the POSIX
 * lock on the image is dropped with it. The channels from {@link #open} never close on an
 * interrupt: the I/O completes and the interrupt status stays set for the caller to act
 * on. Use this factory for every file whose loss would take a disk down.
 *
 * <p>
 * How: the JDK has a switch for exactly this,
 * {@code FileChannelImpl.setUninterruptible()}, which it uses for its own channels that
 * must survive interrupts. It costs nothing per call (the channel merely skips its
 * interrupt bookkeeping), which matters because the NBD request loop does I/O for every
 * request. It lives in {@code sun.nio.ch}, so the JVM must open that package
 * ({@value #JVM_OPTION}); the jar's manifest, {@code spring-boot:run} and the tests do.
 * Without it, or for a channel that is not the JDK's own, the channel is wrapped so that
 * each operation runs on a thread of a small pool that nothing interrupts while the
 * caller waits uninterruptibly: just as safe, at the cost of a hand-off per call, and
 * logged once as a warning. A wrapper that reopens the file after an interrupt was
 * rejected: between the close and the reopen the lock is gone, and another process may
 * take the image.
 */
public final class DiskFiles {

	/** The JVM option that lets the disk layer use the JDK's own switch. */
	public static final String JVM_OPTION = "--add-opens java.base/sun.nio.ch=ALL-UNNAMED";

	private static final Log logger = LogFactory.getLog(DiskFiles.class);

	private static final @Nullable Class<?> JDK_CHANNEL = jdkChannelClass();

	private static final @Nullable MethodHandle SET_UNINTERRUPTIBLE = setUninterruptible(JDK_CHANNEL);

	private static volatile boolean warned;

	private DiskFiles() {
	}

	/**
	 * Opens a file as {@link FileChannel#open(Path, OpenOption...)} does, as a channel
	 * that an interrupt cannot close.
	 * @param path the file
	 * @param options how to open it
	 * @return the open channel
	 * @throws IOException if the file cannot be opened
	 */
	public static FileChannel open(Path path, OpenOption... options) throws IOException {
		return uninterruptible(FileChannel.open(path, options));
	}

	/**
	 * Returns the channel of a {@link RandomAccessFile} (which the caller may still need,
	 * for example to set the length of a sparse file) as one that an interrupt cannot
	 * close. Closing the returned channel closes the file.
	 */
	static FileChannel open(RandomAccessFile file) {
		return uninterruptible(file.getChannel());
	}

	/**
	 * Whether channels use the JDK's own switch (no cost per call) rather than the
	 * hand-off wrapper.
	 */
	public static boolean usesJdkSwitch() {
		return SET_UNINTERRUPTIBLE != null;
	}

	static FileChannel uninterruptible(FileChannel channel) {
		MethodHandle handle = SET_UNINTERRUPTIBLE;
		if (handle != null && JDK_CHANNEL != null && JDK_CHANNEL.isInstance(channel)) {
			try {
				handle.invoke(channel);
				return channel;
			}
			catch (Throwable ex) {
				warn("setUninterruptible() failed: " + ex);
			}
		}
		else {
			warn((handle != null) ? "the channel is a " + channel.getClass().getName()
					: "the JVM does not open sun.nio.ch");
		}
		return handOff(channel);
	}

	/** The hand-off wrapper, also for tests of that path. */
	static FileChannel handOff(FileChannel channel) {
		return new HandOffFileChannel(channel);
	}

	private static void warn(String reason) {
		if (!warned) {
			warned = true;
			logger.warn("Disk files are made interrupt-proof by running their I/O on a separate thread, at a cost per"
					+ " call, because " + reason + ". Start the JVM with " + JVM_OPTION + " to avoid that cost.");
		}
	}

	private static @Nullable Class<?> jdkChannelClass() {
		try {
			return Class.forName("sun.nio.ch.FileChannelImpl");
		}
		catch (ClassNotFoundException | LinkageError ex) {
			return null;
		}
	}

	private static @Nullable MethodHandle setUninterruptible(@Nullable Class<?> type) {
		if (type == null) {
			return null;
		}
		try {
			return MethodHandles.lookup().findVirtual(type, "setUninterruptible", MethodType.methodType(void.class));
		}
		catch (ReflectiveOperationException | RuntimeException ex) {
			// IllegalAccessException without the JVM option, NoSuchMethodException on a
			// JDK that no longer has the switch: the hand-off wrapper takes over.
			return null;
		}
	}

}
