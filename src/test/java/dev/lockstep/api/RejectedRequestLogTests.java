package dev.lockstep.api;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.test.web.server.LocalServerPort;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A request that Tomcat rejects before the application sees it is answered with
 * problem+json and logged in one line with its reason, without a stack trace.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
		properties = { "lockstep.block.enabled=false" })
@ExtendWith(OutputCaptureExtension.class)
class RejectedRequestLogTests {

	@LocalServerPort
	private int port;

	@Test
	void oversizedHeaderIsOneLogLineWithItsReason(CapturedOutput output) throws IOException {
		String answer = exchange(("GET /api/v1/replication HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
				+ "a".repeat(20 * 1024) + "\r\nConnection: close\r\n\r\n")
			.getBytes(StandardCharsets.US_ASCII));
		assertThat(answer).startsWith("HTTP/1.1 400")
			.contains("Content-Type: application/problem+json")
			.contains("\"type\":\"urn:lockstep:problem:invalid-request\"");
		assertThat(output.getAll())
			.contains("Rejected a request from 127.0.0.1 with 400: \"Request header is too large\"")
			.doesNotContain("\tat org.apache")
			.doesNotContain("java.lang.IllegalArgumentException");
	}

	@Test
	void refusedCallIsLoggedWithItsMethodAndPathQuoted(CapturedOutput output) throws IOException {
		String answer = exchange("GET /api/v1/it's HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
			.getBytes(StandardCharsets.US_ASCII));
		assertThat(answer).startsWith("HTTP/1.1 401");
		assertThat(output.getAll()).contains("Refused \"GET\" \"/api/v1/it's\" from 127.0.0.1: no bearer token");
	}

	private String exchange(byte[] request) throws IOException {
		try (Socket socket = new Socket("127.0.0.1", this.port)) {
			socket.setSoTimeout(10_000);
			OutputStream out = socket.getOutputStream();
			out.write(request);
			out.flush();
			InputStream in = socket.getInputStream();
			return new String(in.readAllBytes(), StandardCharsets.UTF_8);
		}
	}

}
