package dev.lockstep.block.nbd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Run in a process of its own by {@link NbdErrorsTests}: writes to {@code /dev/full} and
 * prints the NBD error that the failure maps to, a tab, and the operating system's
 * message.
 */
final class FullDeviceWriter {

	private FullDeviceWriter() {
	}

	public static void main(String[] args) {
		try (FileChannel full = FileChannel.open(Path.of("/dev/full"), StandardOpenOption.WRITE)) {
			full.write(ByteBuffer.allocate(4096), 0);
			System.out.println("no failure");
		}
		catch (IOException ex) {
			IOException wrapped = new IOException("Write of 4096 bytes at 0 failed", ex);
			System.out.println(Nbd.errorName(Nbd.errorFor(wrapped)) + "\t" + ex.getMessage());
		}
	}

}
