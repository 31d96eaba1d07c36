package dev.lockstep.block.file;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Interrupting a thread that does disk-image I/O must not close the image, drop its lock
 * or lose the data: the call completes and the thread keeps its interrupt status.
 */
class DiskFilesInterruptTests {

	private static final int MIB = 1024 * 1024;

	/** Large enough that each call takes a while, so interrupts land inside calls. */
	private static final int TRANSFER = 32 * MIB;

	private static final int ROUNDS = 8;

	@TempDir
	Path directory;

	@Test
	void theJdkSwitchIsInUseInTheTestJvm() {
		// The surefire argLine opens sun.nio.ch, as the jar's manifest and
		// spring-boot:run
		// do: the tests exercise the path production takes.
		assertThat(DiskFiles.usesJdkSwitch()).isTrue();
	}

	@Test
	void readAndWriteWithTheInterruptStatusSetCompleteAndKeepTheLock() throws Exception {
		Path image = this.directory.resolve("disk.img");
		byte[] data = random(MIB, 1);
		try (FileBlockDevice device = FileBlockDevice.open(image, 4 * MIB, false)) {
			Thread.currentThread().interrupt();
			try {
				device.write(MIB, ByteBuffer.wrap(data), true);
				assertThat(Thread.currentThread().isInterrupted()).as("interrupt status after the write").isTrue();
				ByteBuffer back = ByteBuffer.allocate(MIB);
				device.read(MIB, back);
				assertThat(Thread.currentThread().isInterrupted()).as("interrupt status after the read").isTrue();
				device.flush();
				assertThat(back.array()).isEqualTo(data);
			}
			finally {
				Thread.interrupted();
			}
			assertLockedByThisProcess(image);
			ByteBuffer again = ByteBuffer.allocate(MIB);
			device.read(MIB, again);
			assertThat(again.array()).isEqualTo(data);
		}
		assertThat(Files.readAllBytes(image)).hasSize(4 * MIB).startsWith(new byte[MIB]);
	}

	@Test
	void interruptsDuringLargeWritesAndReadsLeaveTheDeviceOpenLockedAndCorrect() throws Exception {
		Path image = this.directory.resolve("disk.img");
		try (FileBlockDevice device = FileBlockDevice.open(image, ROUNDS * (long) TRANSFER, false)) {
			byte[][] written = new byte[ROUNDS][];
			Interrupted writes = underInterrupts((round) -> {
				written[round] = random(TRANSFER, round);
				ByteBuffer buffer = ByteBuffer.allocateDirect(TRANSFER).put(written[round]).flip();
				device.write((long) round * TRANSFER, buffer, true);
				assertThat(buffer.hasRemaining()).isFalse();
			});
			Interrupted reads = underInterrupts((round) -> {
				ByteBuffer buffer = ByteBuffer.allocateDirect(TRANSFER);
				device.read((long) round * TRANSFER, buffer);
				assertThat(buffer.flip()).as("read of round " + round).isEqualTo(ByteBuffer.wrap(written[round]));
			});
			assertThat(writes.failure()).as("writes under interrupts").isNull();
			assertThat(reads.failure()).as("reads under interrupts").isNull();
			assertThat(writes.callsLeftInterrupted()).as("writes that returned with the interrupt status set")
				.isPositive();
			assertThat(reads.callsLeftInterrupted()).as("reads that returned with the interrupt status set")
				.isPositive();
			assertLockedByThisProcess(image);
			for (int round = 0; round < ROUNDS; round++) {
				ByteBuffer buffer = ByteBuffer.allocate(TRANSFER);
				device.read((long) round * TRANSFER, buffer);
				assertThat(buffer.array()).as("data of round " + round + " after the interrupts")
					.isEqualTo(written[round]);
			}
		}
		try (FileChannel channel = FileChannel.open(image, StandardOpenOption.READ)) {
			assertThat(channel.size()).isEqualTo(ROUNDS * (long) TRANSFER);
		}
	}

	@Test
	void theHandOffFallbackAlsoSurvivesInterrupts() throws Exception {
		Path file = this.directory.resolve("fallback.img");
		byte[] data = random(TRANSFER, 7);
		try (FileChannel channel = DiskFiles.handOff(
				FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE))) {
			Interrupted writes = underInterrupts((round) -> {
				ByteBuffer buffer = ByteBuffer.wrap(data);
				long position = (long) round * TRANSFER;
				while (buffer.hasRemaining()) {
					position += channel.write(buffer, position);
				}
				channel.force(false);
			});
			assertThat(writes.failure()).isNull();
			assertThat(writes.callsLeftInterrupted()).isPositive();
			assertThat(channel.isOpen()).isTrue();
			Thread.currentThread().interrupt();
			try {
				ByteBuffer back = ByteBuffer.allocate(TRANSFER);
				channel.read(back, (ROUNDS - 1) * (long) TRANSFER);
				assertThat(Thread.currentThread().isInterrupted()).isTrue();
				assertThat(back.position()).isPositive();
			}
			finally {
				Thread.interrupted();
			}
			assertThat(channel.size()).isEqualTo(ROUNDS * (long) TRANSFER);
		}
		byte[] all = Files.readAllBytes(file);
		for (int round = 0; round < ROUNDS; round++) {
			assertThat(ByteBuffer.wrap(all, round * TRANSFER, TRANSFER)).isEqualTo(ByteBuffer.wrap(data));
		}
	}

	/**
	 * Runs {@link #ROUNDS} calls on a worker thread while another thread interrupts it
	 * every few hundred microseconds. Each call runs with a clear interrupt status, so a
	 * status set when it returns means an interrupt arrived during the call.
	 */
	private static Interrupted underInterrupts(Round round) throws InterruptedException {
		AtomicInteger leftInterrupted = new AtomicInteger();
		AtomicReference<Throwable> failure = new AtomicReference<>();
		AtomicBoolean done = new AtomicBoolean();
		Thread worker = new Thread(() -> {
			try {
				for (int i = 0; i < ROUNDS; i++) {
					Thread.interrupted();
					round.run(i);
					if (Thread.interrupted()) {
						leftInterrupted.incrementAndGet();
					}
				}
			}
			catch (Throwable ex) {
				failure.set(ex);
			}
			finally {
				done.set(true);
			}
		}, "disk-io-under-interrupts");
		Thread interrupter = new Thread(() -> {
			while (!done.get()) {
				worker.interrupt();
				try {
					TimeUnit.MICROSECONDS.sleep(300);
				}
				catch (InterruptedException ex) {
					return;
				}
			}
		}, "interrupter");
		worker.start();
		interrupter.start();
		worker.join(TimeUnit.MINUTES.toMillis(2));
		done.set(true);
		interrupter.join();
		assertThat(worker.isAlive()).as("worker finished").isFalse();
		return new Interrupted(leftInterrupted.get(), failure.get());
	}

	/**
	 * Proves that this process holds a POSIX write lock on the image: {@code /proc/locks}
	 * lists it under this process's id and the image's inode, and another process cannot
	 * take a lock on the file.
	 */
	private static void assertLockedByThisProcess(Path image) throws Exception {
		long inode = (Long) Files.getAttribute(image, "unix:ino");
		String pid = Long.toString(ProcessHandle.current().pid());
		List<String> locks = Files.readAllLines(Path.of("/proc/locks"));
		assertThat(locks).as("/proc/locks")
			.anySatisfy((line) -> assertThat(line.trim().split("\\s+")).contains("POSIX", "WRITE", pid)
				.anySatisfy((field) -> assertThat(field).endsWith(":" + inode)));
		Process other = new ProcessBuilder("python3", "-c",
				"import fcntl,sys;f=open(sys.argv[1],'r+')\n" + "try:\n fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB)\n"
						+ "except OSError:\n print('refused');sys.exit(0)\nprint('locked')",
				image.toString())
			.redirectErrorStream(true)
			.start();
		assertThat(other.waitFor(30, TimeUnit.SECONDS)).isTrue();
		assertThat(new String(other.getInputStream().readAllBytes()).trim()).as("another process locking the image")
			.isEqualTo("refused");
	}

	private static byte[] random(int length, long seed) {
		byte[] data = new byte[length];
		new Random(seed).nextBytes(data);
		return data;
	}

	@FunctionalInterface
	private interface Round {

		void run(int round) throws IOException;

	}

	private record Interrupted(int callsLeftInterrupted, Throwable failure) {

	}

}
