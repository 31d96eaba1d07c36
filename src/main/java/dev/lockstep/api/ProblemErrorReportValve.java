package dev.lockstep.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;

import org.springframework.http.MediaType;

/**
 * Tomcat's error report for requests it rejects before they reach the application (for
 * example an encoded slash in the path), as problem+json instead of Tomcat's HTML page
 * with its version and exception.
 */
public final class ProblemErrorReportValve extends ErrorReportValve {

	@Override
	protected void report(Request request, Response response, Throwable throwable) {
		int status = response.getStatus();
		if (status < 400 || response.getContentWritten() > 0 || !response.setErrorReported()) {
			return;
		}
		ProblemType type = ProblemType.forStatus(status);
		String detail = (status < 500) ? "The request was rejected by the server: it is not a valid request"
				: "The request could not be completed because of an internal error";
		String body = ProblemDetailWriter.json(type, detail);
		try {
			response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
			response.getOutputStream().write(body.getBytes(StandardCharsets.UTF_8));
			response.finishResponse();
		}
		catch (IOException | IllegalStateException ex) {
			// the client is gone or the response is already committed: nothing more to
			// say
		}
	}

}
