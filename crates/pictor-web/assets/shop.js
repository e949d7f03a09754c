// The style shop: on /shop, ask for a signed upload form and post the
// photo straight to the store (the bucket, or this server on a local
// store); on an order's page, pay with Stripe's Payment Element (Stripe.js
// loaded only when the visitor chooses to pay) and wait for the artwork.
(function () {
  "use strict";

  async function problem(response) {
    const text = await response.text();
    try {
      const body = JSON.parse(text);
      return body.detail || body.error?.message || body.title || text;
    } catch (_) {
      // S3 answers XML: <Message>…</Message>.
      const message = /<Message>([^<]*)<\/Message>/.exec(text);
      return message ? message[1] : response.status + " " + response.statusText;
    }
  }

  function say(el, text, isError) {
    el.textContent = text;
    el.classList.toggle("error", Boolean(isError));
  }

  // --- /shop: the upload form -------------------------------------------
  const form = document.getElementById("shop-upload");
  if (form) {
    const status = document.getElementById("shop-status");
    const progress = document.getElementById("shop-progress");
    // "Your own style" asks for the style picture too.
    const own = document.getElementById("shop-own");
    const ownChosen = () => Boolean(form.querySelector("input[name=style]:checked[data-own]"));
    const showOwn = () => {
      if (!own) return;
      own.hidden = !ownChosen();
      own.querySelector("input").required = ownChosen();
    };
    form.addEventListener("change", showOwn);
    showOwn();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const file = form.elements.photo.files[0];
      if (!file) return say(status, "Choose a photo first.", true);
      const styleImage = ownChosen() ? form.elements.style_image.files[0] : null;
      if (ownChosen() && !styleImage) return say(status, "Choose your style picture first.", true);
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        say(status, "Preparing the upload…");
        const ask = await fetch("/shop/api/uploads", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({
            style: form.elements["style"].value,
            email: form.elements.email.value,
            content_type: file.type || "application/octet-stream",
            size: file.size,
            style_image: styleImage
              ? { content_type: styleImage.type || "application/octet-stream", size: styleImage.size }
              : undefined,
          }),
        });
        if (!ask.ok) throw new Error(await problem(ask));
        const signed = await ask.json();
        if (signed.style_form) await post(signed.style_form.url, formData(signed.style_form.fields, styleImage), progress);
        await post(signed.url, formData(signed.fields, file), progress);
        say(status, "Uploaded. Your preview is being painted: its link will be in your inbox in a minute.");
        form.reset();
      } catch (e) {
        say(status, "The upload failed: " + e.message, true);
      } finally {
        button.disabled = false;
        progress.hidden = true;
      }
    });
  }

  // A signed form's fields, then the file (last, as S3 requires).
  function formData(fields, file) {
    const data = new FormData();
    for (const [name, value] of Object.entries(fields)) data.append(name, value);
    data.append("file", file);
    return data;
  }

  // XMLHttpRequest, for upload progress (fetch has none).
  function post(url, data, progress) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      progress.hidden = false;
      xhr.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = (100 * e.loaded) / e.total; };
      xhr.onload = async () => {
        if (xhr.status >= 200 && xhr.status < 300) return resolve();
        reject(new Error(await problem(new Response(xhr.responseText, { status: xhr.status, statusText: xhr.statusText }))));
      };
      xhr.onerror = () => reject(new Error("the connection failed"));
      xhr.send(data);
    });
  }

  // --- /shop/o/{token}: pay, then wait for the artwork --------------------
  const order = document.getElementById("shop-order");
  if (!order) return;
  const token = order.dataset.token;
  const status = document.getElementById("shop-status");
  const pay = document.getElementById("shop-pay");
  const confirm = document.getElementById("shop-confirm");

  function loadStripe() {
    if (window.Stripe) return Promise.resolve(window.Stripe);
    return new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = order.dataset.stripeJs;
      script.onload = () => resolve(window.Stripe);
      script.onerror = () => reject(new Error("Stripe.js could not be loaded"));
      document.head.appendChild(script);
    });
  }

  if (pay) {
    pay.addEventListener("click", async () => {
      pay.disabled = true;
      try {
        say(status, "Preparing the payment…");
        const response = await fetch(`/shop/api/orders/${token}/checkout`, { method: "POST" });
        if (!response.ok) throw new Error(await problem(response));
        const checkout = await response.json();
        const Stripe = await loadStripe();
        const stripe = Stripe(checkout.publishable_key);
        const elements = stripe.elements({ clientSecret: checkout.client_secret });
        elements.create("payment").mount("#payment-element");
        pay.hidden = true;
        confirm.hidden = false;
        confirm.textContent = "Pay " + checkout.display;
        say(status, "");
        confirm.addEventListener("click", async () => {
          confirm.disabled = true;
          const result = await stripe.confirmPayment({
            elements,
            redirect: "if_required",
            confirmParams: { return_url: location.href },
          });
          if (result.error) {
            confirm.disabled = false;
            return say(status, result.error.message, true);
          }
          confirm.hidden = true;
          say(status, "Payment sent. Waiting for its confirmation…");
          watch();
        });
      } catch (e) {
        pay.disabled = false;
        say(status, e.message, true);
      }
    });
  }

  // Polls the order until the artwork is ready (or the order failed).
  async function watch() {
    for (;;) {
      const response = await fetch(`/shop/api/orders/${token}`);
      if (response.ok) {
        const view = await response.json();
        order.dataset.state = view.state;
        if (view.state === "paid") say(status, "Payment received. Your artwork is being painted at full resolution…");
        if (view.state === "failed") return say(status, "This order could not be completed: " + view.error, true);
        if (view.artwork_url) {
          say(status, "Your artwork is ready.");
          document.getElementById("payment-element")?.remove();
          const download = document.getElementById("shop-download");
          download.querySelector("span").textContent = `${view.width}×${view.height} px, JPEG`;
          download.hidden = false;
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  if (order.dataset.state === "paid") watch();
})();
