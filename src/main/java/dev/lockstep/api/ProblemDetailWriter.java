package dev.lockstep.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import jakarta.servlet.http.HttpServletResponse;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;

/**
 * Writes a problem+json body straight to a servlet response, for the places that answer
 * before Spring MVC does (servlet filters, the security chain, Tomcat's error report),
 * with the same problem types as the API.
 */
public final class ProblemDetailWriter {

	private ProblemDetailWriter() {
	}

	/**
	 * Answers with {@code status} and the API's problem type for it.
	 */
	public static void write(HttpServletResponse response, HttpStatus status, String detail) throws IOException {
		write(response, ProblemType.forStatus(status.value()), detail);
	}

	static void write(HttpServletResponse response, ProblemType type, String detail) throws IOException {
		response.setStatus(type.status().value());
		response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
		response.getOutputStream().write(json(type, detail).getBytes(StandardCharsets.UTF_8));
	}

	static String json(ProblemType type, String detail) {
		return "{\"type\":\"" + type.type() + "\",\"title\":\"" + type.title() + "\",\"status\":"
				+ type.status().value() + ",\"detail\":\"" + detail.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}";
	}

}
